# scriptbox — build, test and install. `make help` lists the targets.
CC       ?= gcc
BUILD    ?= build
PREFIX   ?= /usr/local
VERSION  := 0.1.0

PKGS     := libseccomp libcap libarchive libcjson libcurl openssl
# scriptbox dlopen()s these on first use (src/lazylib.h): headers only, never linked into it.
LAZY_PKGS := libarchive libcurl
OPTFLAGS ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
HARDEN   := -fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=2
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPTFLAGS) $(WARN) $(HARDEN) -DSCRIPTBOX_VERSION='"$(VERSION)"' \
            -Isandbox -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS  += -pie -Wl,-z,relro,-z,now
LDLIBS   += $(shell pkg-config --libs $(filter-out $(LAZY_PKGS),$(PKGS)) 2>/dev/null) -lm
LAZY_LIBS := $(shell pkg-config --libs $(LAZY_PKGS) 2>/dev/null)

SBX_SRC  := $(wildcard sandbox/*.c)
APP_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
SBX_OBJ  := $(SBX_SRC:%.c=$(BUILD)/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/%.o)
LIBSBX   := $(BUILD)/libsbx.a
LIBAPP   := $(BUILD)/libscriptbox.a
BIN      := $(BUILD)/scriptbox

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
ESC_SRC   := $(wildcard tests/escape/test_*.c)
SUPPORT_SRC := $(wildcard tests/support/*.c)
TEST_BINS := $(UNIT_SRC:%.c=$(BUILD)/%) $(INTEG_SRC:%.c=$(BUILD)/%) $(ESC_SRC:%.c=$(BUILD)/%)
# Programs the tests run inside the sandbox are linked statically: they must not depend on
# anything but the kernel. One per file in tests/helpers/.
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRC:%.c=$(BUILD)/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRC:%.c=$(BUILD)/%)

.PHONY: all deps test check check-asan bench clean install demo help lint realworld
all: $(BIN)

help:
	@echo "make deps       install missing Debian packages (apt-get; needs root)"
	@echo "make            build $(BIN)"
	@echo "make demo       deps + build + analyze the bundled sample package"
	@echo "make test       deps + build + the whole suite (unit, integration, escape; root and rootless)"
	@echo "make check-asan the whole suite under ASan/UBSan"
	@echo "make lint       cppcheck over src/ sandbox/ tests/"
	@echo "make realworld  analyze a pinned list of popular packages (network; not part of make test)"
	@echo "make bench      speed and memory ratios (bench/)"
	@echo "make fuzz-run   libFuzzer over the wire parsers (FUZZ_SECONDS=600)"
	@echo "make install    install to $(PREFIX)"

deps:
	@sh scripts/deps.sh

# V=1 shows the full commands.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Archives are rebuilt from scratch: `ar r` would keep members of deleted sources.
$(LIBSBX): $(SBX_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBAPP): $(APP_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(LIBAPP) $(LIBSBX)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(SUPPORT_SRC) $(LIBAPP) $(LIBSBX)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS) -Itests/support $(LDFLAGS) -o $@ $< $(SUPPORT_SRC) $(LIBAPP) $(LIBSBX) $(LDLIBS) -lcmocka

$(BUILD)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  HELPER  $@")
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -static -o $@ $<

$(BUILD)/tests/tools/%: tests/tools/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TOOL    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# sbxrun opens sandboxes: it links libsbx (other tools stay standalone).
$(BUILD)/tests/tools/sbxrun: tests/tools/sbxrun.c $(LIBSBX)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TOOL    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSBX) $(LDLIBS)

# Tests and tools that call libcurl or libarchive themselves link them.
$(BUILD)/tests/integration/test_fakenet $(BUILD)/tests/integration/test_exfil_fixtures \
$(BUILD)/tests/tools/mkfixtures: LDLIBS += $(LAZY_LIBS)

tests-build: $(BIN) $(TEST_BINS) $(HELPER_BINS) $(TOOL_BINS)

test check: deps
	@$(MAKE) --no-print-directory tests-build
	@BUILD=$(BUILD) sh tests/run.sh

check-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan CC=gcc \
	  OPTFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" test

demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh $(BIN)

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	  --inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE -Isandbox -Isrc src sandbox tests

realworld: all
	@sh scripts/realworld.sh $(BIN)

bench: all
	@for b in bench/*; do [ -x "$$b" ] && "$$b" $(BIN); done; true

install: all
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/scriptbox
	install -d $(DESTDIR)$(PREFIX)/share/scriptbox/rules
	cp -R rules/. $(DESTDIR)$(PREFIX)/share/scriptbox/rules/

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- Wire-parser fuzzing (libFuzzer, clang; not part of `make`/`make test`) -----------------
# `make fuzz` builds build-fuzz/fuzz_{dns,http,tls}; `make fuzz-run FUZZ_SECONDS=600` runs them
# one after another and prints one line per target (tests/fuzz/README.md).
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= dns http tls
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(WARN) -Isandbox
WIRE_SRC     := $(wildcard sandbox/wire*.c)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-run fuzz-clean
fuzz: $(FUZZ_BINS)

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(WIRE_SRC) sandbox/wire.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(WIRE_SRC)

fuzz-run: fuzz
	@sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) "$(FUZZ_TARGETS)"

fuzz-clean:
	rm -rf $(FUZZ_BUILD)
