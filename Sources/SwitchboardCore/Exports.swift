// The wire types (messages, conversations, codes) are part of the domain's API.
@_exported import SwitchboardProtocol
