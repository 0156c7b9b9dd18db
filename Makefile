# SPDX-License-Identifier: GPL-2.0-or-later
# Top-level Makefile: drives meson/ninja in build/ (and build-asan/).
# Targets: all check check-slow check-asan fuzz demo bench lint install clean
# make fuzz [FUZZ_SECONDS=30] [FUZZ_TARGETS="fuzz-ram ..."]: build every
# tests/fuzz target with clang + libFuzzer + ASan/UBSan in build-fuzz/
# (meson -Dfuzzing=true) and run each for FUZZ_SECONDS (docs/testing.md).
# make install [PREFIX=/usr/local] [DESTDIR=/staging]: meson install of
# bin/tern, bin/tern-migrate, bin/qmp-shell, share/tern/{stress.elf,python}
# and man1/tern.1 (see the install rules at the end of meson.build).
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?=
MESON_TEST = meson test -C $(BUILD) --print-errorlogs --num-processes 2
QUICK ?=
PREFIX ?=
DESTDIR ?=

.PHONY: all deps fuzz-deps check check-unit check-slow check-asan fuzz demo bench lint install clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	./configure --builddir=$(BUILD) $(CONFIGURE_FLAGS)

$(ASAN_BUILD)/build.ninja:
	./configure --builddir=$(ASAN_BUILD) --enable-asan $(CONFIGURE_FLAGS)

deps:
	@scripts/install-deps.sh

fuzz-deps:
	@scripts/install-deps.sh --fuzz

$(FUZZ_BUILD)/build.ninja:
	CC=clang ./configure --builddir=$(FUZZ_BUILD) -Dfuzzing=true \
	    -Db_sanitize=address,undefined -Db_lundef=false $(CONFIGURE_FLAGS)

check: deps
	$(MAKE) all
	$(MESON_TEST) --suite unit --suite qtest --suite interop

check-unit: all
	$(MESON_TEST) --suite unit

check-slow: deps
	$(MAKE) all
	$(MESON_TEST) --suite slow --timeout-multiplier 4

check-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2 \
	    --timeout-multiplier 3 --suite unit --suite qtest

# The plain build writes each target's built-in seeds (--write-seeds).
fuzz: deps fuzz-deps $(FUZZ_BUILD)/build.ninja
	$(MAKE) all
	ninja -C $(FUZZ_BUILD) fuzz
	python3 scripts/run-fuzz.py --fuzz-build $(FUZZ_BUILD) \
	    --plain-build $(BUILD) --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

demo: deps
	$(MAKE) all
	scripts/demo.sh $(BUILD)

bench: deps
	$(MAKE) all
	python3 tests/bench/run.py --build $(BUILD) $(if $(QUICK),--quick,)

# lint: formatting (clang-format) and layering (scripts/check-layering.py).
lint:
	@files=$$(git ls-files '*.c' '*.h' | grep -v '^guest/'); \
	clang-format --dry-run --Werror $$files
	@python3 scripts/check-layering.py .
	@python3 scripts/check-spdx.py
	@python3 scripts/check-function-length.py --max=80 \
	    $$(git ls-files 'migration/*.c')

install: $(BUILD)/build.ninja
	$(if $(PREFIX),meson configure $(BUILD) -Dprefix=$(abspath $(PREFIX)))
	ninja -C $(BUILD)
	meson install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir $(abspath $(DESTDIR)))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
