#ifndef SWITCHBOARD_CHIREDIS_SHIM_H
#define SWITCHBOARD_CHIREDIS_SHIM_H
// hiredis 0.14 (Debian libhiredis-dev): only the reply parser and the command
// encoder are used; SwiftNIO does all socket I/O.
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#endif
