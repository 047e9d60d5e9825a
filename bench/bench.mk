# bench/bench.mk — builds the benchmark binaries into $(BUILD)/bench/.
#
#   make -f bench/bench.mk BUILD=build-bench      (run by `make bench`)
#
# Each peer is its own binary, so libsignal-protocol-c, libolm and libparley
# never share a process (both peers bundle their own curve25519 code, and a
# symbol clash would silently measure the wrong one). bench/run.sh runs them
# interleaved. Flags as in the main Makefile (a user's CFLAGS are added after
# ours, never in their place); -DNDEBUG as `make bench` uses.

BUILD   ?= build-bench
CC      ?= cc
B       := $(BUILD)/bench
LIB     := $(BUILD)/libparley.a
BENCH_CFLAGS := -std=c11 -O2 -DNDEBUG -g -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc

pc = $(shell pkg-config $(1) $(2))
# What libparley itself links against, as in the main Makefile.
PARLEY_PKGS := libsodium sqlite3 libmicrohttpd libcurl jansson
# (and cairo + pango: a bench that links the client pulls in the PDF export)
PARLEY_LIBS := $(call pc,--libs,$(PARLEY_PKGS)) -lpthread \
	$(call pc,--libs,pangocairo cairo-pdf fontconfig)

BINS := $(B)/ratchet_floor $(B)/ratchet_parley $(B)/ratchet_signal $(B)/ratchet_olm \
	$(B)/bare_httpd $(B)/relay_load $(B)/log_bench $(B)/mbxlog_bench $(B)/unlock_bench \
	$(B)/commit_bench $(B)/psi_bench

.PHONY: all
all: $(BINS)

# The main Makefile owns libparley's sources and flags; `make bench` builds
# it just before this file runs.
$(LIB):
	@echo "bench.mk: $(LIB) is missing; run: make all BUILD=$(BUILD) OPT=\"-O2 -DNDEBUG\"" >&2
	@exit 1

$(B)/ratchet_floor: bench/ratchet_floor.c
	@mkdir -p $(B)
	$(CC) $(BENCH_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(call pc,--cflags,libsodium) -o $@ $< $(call pc,--libs,libsodium)

$(B)/ratchet_parley: bench/ratchet_parley.c $(LIB)
	@mkdir -p $(B)
	$(CC) $(BENCH_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(call pc,--cflags,libsodium) -o $@ $< $(LIB) $(PARLEY_LIBS)

$(B)/ratchet_signal: bench/ratchet_signal.c bench/signal_crypto_openssl.c bench/signal_crypto_openssl.h
	@mkdir -p $(B)
	$(CC) $(BENCH_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(call pc,--cflags,libsignal-protocol-c openssl) -o $@ \
		bench/ratchet_signal.c bench/signal_crypto_openssl.c \
		$(call pc,--libs,libsignal-protocol-c openssl)

$(B)/ratchet_olm: bench/ratchet_olm.c
	@mkdir -p $(B)
	$(CC) $(BENCH_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(call pc,--cflags,olm jansson) -o $@ $< $(call pc,--libs,olm jansson)

$(B)/bare_httpd: bench/bare_httpd.c
	@mkdir -p $(B)
	$(CC) $(BENCH_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(call pc,--cflags,libmicrohttpd) -o $@ $< \
		$(call pc,--libs,libmicrohttpd) -lpthread

$(B)/relay_load: bench/relay_load.c $(LIB)
	@mkdir -p $(B)
	$(CC) $(BENCH_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(call pc,--cflags,libsodium libcurl) -o $@ $< $(LIB) $(PARLEY_LIBS)

$(B)/log_bench: bench/log_bench.c $(LIB)
	@mkdir -p $(B)
	$(CC) $(BENCH_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(call pc,--cflags,libsodium) -o $@ $< $(LIB) $(PARLEY_LIBS)

$(B)/mbxlog_bench: bench/mbxlog_bench.c $(LIB)
	@mkdir -p $(B)
	$(CC) $(BENCH_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(call pc,--cflags,libsodium libcurl) -o $@ $< $(LIB) $(PARLEY_LIBS) -lm

$(B)/unlock_bench: bench/unlock_bench.c $(LIB)
	@mkdir -p $(B)
	$(CC) $(BENCH_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(call pc,--cflags,libsodium) -o $@ $< $(LIB) $(PARLEY_LIBS)

$(B)/commit_bench: bench/commit_bench.c $(LIB)
	@mkdir -p $(B)
	$(CC) $(BENCH_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(call pc,--cflags,libsodium sqlite3) -o $@ $< $(LIB) $(PARLEY_LIBS)

$(B)/psi_bench: bench/psi_bench.c $(LIB)
	@mkdir -p $(B)
	$(CC) $(BENCH_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(call pc,--cflags,libsodium) -o $@ $< $(LIB) $(PARLEY_LIBS)
