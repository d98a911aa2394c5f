/* version.h — the connector's version, the one place it is written in C.
 * lua/databricks/init.lua reads it from the core; the rockspecs and the
 * CHANGELOG repeat it and a spec checks they agree. */
#ifndef DBX_VERSION_H
#define DBX_VERSION_H

#define DBX_VERSION "0.1.0"
/* The connector's own product token in the User-Agent (partner format
 * <isv>_<product>/<version>). */
#define DBX_UA_PRODUCT "LuaDatabricks_Connector"

#endif
