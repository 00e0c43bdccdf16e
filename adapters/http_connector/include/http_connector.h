/* http_connector.h -- the HTTP connector exports nothing but hub_plugin_entry_v1 (declared in
 * hub_abi.h). This header exists because SwiftPM wants one per C target. */
#ifndef HTTP_CONNECTOR_H
#define HTTP_CONNECTOR_H
#include "hub_abi.h"
#endif
