# parley — build, test, fuzz, bench.
#
#   make demo    install missing Debian packages, build, run `parley demo`
#   make check   install, build (plain and ASan+UBSan), run every test
#   make fuzz    build the libFuzzer targets (clang-14) and run each briefly
#   make bench   build and run the benchmarks (peers measured in the same run)
#   make layers  check that src/ includes only downward (scripts/check-layers.sh)
#   make install install build/parley and build/parley-relay into
#                $(DESTDIR)$(PREFIX)/bin (PREFIX defaults to /usr/local)
#
# Plain `make` only builds: it never asks apt for anything (demo, check,
# fuzz and bench run scripts/install-deps.sh first). CFLAGS, CPPFLAGS,
# LDFLAGS and LDLIBS given by the user are added after the project's own
# flags (PL_CFLAGS, PL_LDFLAGS), never in their place.
#
# Sources are found by wildcard: a new .c under src/ joins libparley, a new
# tests/unit/test_*.c becomes a cmocka test (linked with tests/unit/support.c,
# the shared fixture helpers, and evil_relay.c, a malicious relay proxy), a
# new fuzz/fuzz_*.c a fuzzer.

BUILD   ?= build
CC      ?= cc
SAN     ?=
OPT     ?= -O2
PKGS    := libsodium sqlite3 libmicrohttpd libcurl jansson
DEPCFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEPLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
# cairo + pango (HarfBuzz shaping, fribidi) for the PDF agreement: only
# src/export/pdf.c includes them, only the programs that export link them
PDFCFLAGS := $(shell pkg-config --cflags pangocairo cairo-pdf fontconfig 2>/dev/null)
PDFLIBS   := $(shell pkg-config --libs pangocairo cairo-pdf fontconfig 2>/dev/null)
PL_CFLAGS  = -std=c11 $(OPT) -g -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc $(DEPCFLAGS) $(SAN)
PL_LDFLAGS = $(SAN)
PREFIX  ?= /usr/local
DESTDIR ?=

LIB_SRC   := $(sort $(shell find src -name '*.c'))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC  := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TEST_SUPPORT := $(BUILD)/tests/unit/support.o $(BUILD)/tests/unit/evil_relay.o
TOOLS     := $(BUILD)/parley $(BUILD)/parley-relay
# helpers the tests run, never installed (tests/tools/*.c, e.g. vaultsql)
TEST_TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/%,$(wildcard tests/tools/*.c))

ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all deps demo check check-build layers fuzz fuzz-build bench clean format install uninstall
all: $(TOOLS) $(TEST_BIN) $(TEST_TOOLS)

# the test objects are intermediate files: keep them, so a rebuild after a
# header change recompiles only what changed and make does not delete them
.SECONDARY: $(TEST_BIN:$(BUILD)/tests/%=$(BUILD)/tests/unit/%.o)

deps:
	@sh scripts/install-deps.sh

demo: deps
	@$(MAKE) --no-print-directory $(PAR) all
	./$(BUILD)/parley demo

# demo and check build with every core unless the user gave -j already
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
PAR     = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(JOBS))

check-build:
	@$(MAKE) --no-print-directory $(PAR) all
	@$(MAKE) --no-print-directory $(PAR) all BUILD=build-asan OPT=-O1 SAN="$(ASAN_FLAGS)"

check: deps
	@$(MAKE) --no-print-directory check-build
	@bash tests/run.sh build build-asan

# which folder of src/ may include which (tests/run.sh runs it in make check)
layers:
	@sh scripts/check-layers.sh

install: $(TOOLS)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/parley $(DESTDIR)$(PREFIX)/bin/parley-relay

$(BUILD)/libparley.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(PL_CFLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/src/export/pdf.o: PL_CFLAGS += $(PDFCFLAGS)
# NFC of names (src/cli/nfc.c) with GLib, which the PDF libraries bring
$(BUILD)/src/cli/nfc.o: PL_CFLAGS += $(PDFCFLAGS)

$(BUILD)/parley: $(BUILD)/tools/parley.o $(BUILD)/libparley.a
	$(CC) $(PL_LDFLAGS) $(LDFLAGS) -o $@ $^ $(DEPLIBS) $(PDFLIBS) $(LDLIBS)

$(BUILD)/parley-relay: $(BUILD)/tools/parley-relay.o $(BUILD)/libparley.a
	$(CC) $(PL_LDFLAGS) $(LDFLAGS) -o $@ $^ $(DEPLIBS) $(LDLIBS)

$(BUILD)/vaultsql: $(BUILD)/tests/tools/vaultsql.o $(BUILD)/libparley.a
	$(CC) $(PL_LDFLAGS) $(LDFLAGS) -o $@ $^ $(DEPLIBS) $(LDLIBS)

# every test also links the shared fixture helpers (tests/unit/support.[ch])
# and the malicious relay proxy (tests/unit/evil_relay.[ch]); naming their
# objects here keeps make from deleting them as intermediate files
$(TEST_BIN): $(TEST_SUPPORT)
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TEST_SUPPORT) $(BUILD)/libparley.a
	@mkdir -p $(dir $@)
	$(CC) $(PL_LDFLAGS) $(LDFLAGS) -o $@ $^ $(DEPLIBS) $(PDFLIBS) -lcmocka $(LDLIBS)

# --- fuzzing (clang-14 + libFuzzer) ----------------------------------------
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 10
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@bash fuzz/run.sh $(FUZZ_SECONDS)
fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang-14 OPT=-O1 \
		SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" build-fuzz/libparley.a
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
build-fuzz/fuzz_%: fuzz/fuzz_%.c build-fuzz/libparley.a
	clang-14 -std=c11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc $(DEPCFLAGS) \
		$(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer,address,undefined $(LDFLAGS) -o $@ $^ $(DEPLIBS) $(PDFLIBS) $(LDLIBS)

# --- benchmarks ------------------------------------------------------------
bench: deps
	@$(MAKE) --no-print-directory all BUILD=build-bench OPT="-O2 -DNDEBUG"
	@$(MAKE) --no-print-directory -f bench/bench.mk BUILD=build-bench
	@bash bench/run.sh build-bench

format:
	clang-format -i $$(find src tools tests fuzz bench -name '*.[ch]')

clean:
	rm -rf build build-asan build-fuzz build-bench

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
