// Every test of this target uses the launchers of SwitchboardTestSupport.
@_exported import SwitchboardTestSupport
