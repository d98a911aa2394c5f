# What `luarocks make` and `luarocks install` run (build type "make", one
# install pass, see the rockspecs): compiles the C core in a temporary
# folder outside the source tree, links the two modules, and installs them,
# the Lua modules, the man pages and the completion into the tree LuaRocks
# names. The source tree is left exactly as it was: no object file, no
# module, nothing to clean (the plain builtin backend writes every .o beside
# its .c). Needs a C compiler and GNU make; no CMake (that is `make` in a
# checkout, for development).
#
# Variables from LuaRocks (rockspec install_variables): CC, CFLAGS, LIBFLAG,
# LUA_INCDIR, CURL_INCDIR, CURL_LIBDIR, OPENSSL_INCDIR, OPENSSL_LIBDIR,
# INST_LIBDIR, INST_LUADIR, and LUA (the interpreter: the Lua modules are
# installed precompiled by it, see rockspec/precompile.lua; copied as source
# when LUA is empty).

SOURCES := $(sort $(wildcard src/*.c))
DEFINES := -D_DEFAULT_SOURCE -D_DARWIN_C_SOURCE
INCLUDES := -I$(LUA_INCDIR) -I$(CURL_INCDIR) -I$(OPENSSL_INCDIR)

.PHONY: build install

# Nothing is built in the source tree: the install pass does it all.
build:

install:
	@set -e; \
	tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/lua-databricks-build.XXXXXX"); \
	trap 'rm -rf "$$tmp"' EXIT INT TERM; \
	for src in $(SOURCES); do \
	  echo "$(CC) $(CFLAGS) -c $$src"; \
	  $(CC) $(CFLAGS) $(DEFINES) $(INCLUDES) -c "$$src" -o "$$tmp/$$(basename "$$src" .c).o"; \
	done; \
	$(CC) $(LIBFLAG) -o "$$tmp/core_impl.so" "$$tmp"/*.o -L$(CURL_LIBDIR) -L$(OPENSSL_LIBDIR) -lcurl -lcrypto -lpthread; \
	$(CC) $(CFLAGS) $(DEFINES) -I$(LUA_INCDIR) -c src/loader/core_loader.c -o "$$tmp/core_loader.o"; \
	$(CC) $(LIBFLAG) -o "$$tmp/core.so" "$$tmp/core_loader.o" -ldl; \
	mkdir -p "$(INST_LIBDIR)/databricks"; \
	cp "$$tmp/core.so" "$$tmp/core_impl.so" "$(INST_LIBDIR)/databricks/"; \
	(cd lua && find . -type d) | while read -r d; do mkdir -p "$(INST_LUADIR)/$$d"; done; \
	if [ -n "$(LUA)" ]; then \
	  (cd lua && find . -name '*.lua') | "$(LUA)" rockspec/precompile.lua lua "$(INST_LUADIR)"; \
	else \
	  (cd lua && find . -name '*.lua') | while read -r f; do cp "lua/$$f" "$(INST_LUADIR)/$$f"; done; \
	fi
