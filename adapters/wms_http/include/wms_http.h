/* wms_http.h -- the generic WMS HTTP connector exports nothing but hub_plugin_entry_v1
 * (declared in hub_abi.h). This header exists because SwiftPM wants one per C target. */
#ifndef WMS_HTTP_H
#define WMS_HTTP_H
#include "hub_abi.h"
#endif
