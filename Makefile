# mbrl.hpp: build the tests, the benchmark and one example binary per assignment question.
#
#   make demo    the short end-to-end run (q2 on obstacles), its CSVs and its plot
#   make test    build and run the doctest tests, and plot/plot.sh on a CSV fixture
#   make bench   speed as ratios: against this machine's FMA peak and against PyTorch
#   make q1..q6  every command of one assignment question (long), then its figures
#   make plots   redraw every figure from the CSVs under data/
#
# Missing Debian packages (doctest-dev, libmujoco-dev, gnuplot-nox, OpenMP) are installed when
# running as root; otherwise the exact apt-get command is printed.

CXX      ?= g++
# -ffp-contract=fast lets GCC fuse a*b+c into one FMA under -std=c++17 (GCC's ISO default is off).
# -mprefer-vector-width=512: GCC's tuning for this CPU would otherwise keep loops at 256 bits.
CXXFLAGS ?= -std=c++17 -O3 -march=native -mprefer-vector-width=512 -ffp-contract=fast -fopenmp \
            -Wall -Wextra
# Where the MuJoCo envs find their MJCF files (envs/mujoco_env.hpp), so binaries run from anywhere.
CPPFLAGS += -DMBRL_ENVS_DIR=\"$(CURDIR)/envs\"
# The commit a binary was built from, written into every run's flags.csv.
CPPFLAGS += -DMBRL_COMMIT=\"$(shell git describe --always --dirty 2>/dev/null || echo unknown)\"
LDLIBS   := -lmujoco
BUILD    := build
PYTHON   := /usr/bin/python3

HEADERS  := mbrl.hpp $(wildcard envs/*.hpp)
TEST_SRC := $(wildcard tests/*.cpp)
TEST_OBJ := $(TEST_SRC:tests/%.cpp=$(BUILD)/tests/%.o)
EXAMPLES := q1 q2 q3 q4 q5 q6 bench env_speed
EX_BIN   := $(EXAMPLES:%=$(BUILD)/%)

.PHONY: all examples test bench demo plots clean deps deps-build deps-run q1 q2 q3 q4 q5 q6 test-isa test-arm64
all: examples
examples: deps-build $(EX_BIN)

# ---------------------------------------------------------------------------------------------
# Dependencies: "file-or-command:package" pairs; whatever is missing is installed in one go.
# ---------------------------------------------------------------------------------------------
BUILD_DEPS := /usr/include/doctest/doctest.h:doctest-dev /usr/include/mujoco/mujoco.h:libmujoco-dev
RUN_DEPS   := gnuplot:gnuplot-nox

define ensure_packages
	@missing=""; \
	for pair in $(1); do \
	  what=$${pair%%:*}; pkg=$${pair##*:}; \
	  if [ -e "$$what" ] || command -v "$$what" >/dev/null 2>&1; then :; else missing="$$missing $$pkg"; fi; \
	done; \
	if ! echo 'int main(){}' | $(CXX) -fopenmp -x c++ - -o /dev/null >/dev/null 2>&1; then \
	  missing="$$missing libgomp1 libgcc-12-dev"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "mbrl: installing missing packages:$$missing"; \
	    ( apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null ) \
	    || { echo "mbrl: could not install$$missing; try: sudo apt-get install -y$$missing"; exit 1; }; \
	  else \
	    echo "mbrl: missing packages:$$missing"; \
	    echo "mbrl: install them with: sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi
endef

deps: deps-build deps-run
deps-build:
	$(call ensure_packages,$(BUILD_DEPS))
deps-run:
	$(call ensure_packages,$(RUN_DEPS))

# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
$(BUILD)/tests/%.o: tests/%.cpp $(HEADERS) | deps-build
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $(abspath $<) -o $@

$(BUILD)/run_tests: $(TEST_OBJ)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

# The README's API tour, extracted from README.md, must compile and run.
$(BUILD)/tour.cpp: README.md
	@mkdir -p $(BUILD)
	sed -n '/^<!-- tour -->/,/^<!-- \/tour -->/p' README.md | sed '/^<!--/d; /^```/d' > $@
$(BUILD)/tour: $(BUILD)/tour.cpp $(HEADERS) | deps-build
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -I$(CURDIR) $< -o $@ $(LDLIBS)

# ... and so must the same program built without OpenMP (the pragmas compile away).
$(BUILD)/tour_serial: $(BUILD)/tour.cpp $(HEADERS) | deps-build
	$(CXX) $(CPPFLAGS) $(filter-out -fopenmp,$(CXXFLAGS)) -Werror -I$(CURDIR) $< -o $@ $(LDLIBS)

test: deps-build deps-run $(BUILD)/run_tests $(BUILD)/tour $(BUILD)/tour_serial
	$(BUILD)/run_tests
	$(BUILD)/tour
	$(BUILD)/tour_serial
	tests/plot_test.sh $(BUILD)/plot_test

# ---------------------------------------------------------------------------------------------
# Examples, benchmark, demo
# ---------------------------------------------------------------------------------------------
$(BUILD)/%: examples/%.cpp $(HEADERS) | deps-build
	@mkdir -p $(BUILD)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $< -o $@ $(LDLIBS)

# PyTorch (Debian's python3-torch, with OpenBLAS) is the baseline; without it the bench still runs.
BENCH_DEPS := /usr/lib/python3/dist-packages/torch:python3-torch \
              /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3:libopenblas0-pthread
# Twice: this machine's native build, then the AVX2 build most laptops would run (-march=haswell),
# each against PyTorch given the same instruction set.
$(BUILD)/bench_avx2: examples/bench.cpp $(HEADERS) | deps-build
	@mkdir -p $(BUILD)
	$(CXX) $(CPPFLAGS) $(filter-out -march=% -mprefer-vector-width=%,$(CXXFLAGS)) -march=haswell $< -o $@ $(LDLIBS)
bench: deps-build $(BUILD)/bench $(BUILD)/bench_avx2 $(BUILD)/env_speed
	-$(call ensure_packages,$(BENCH_DEPS))
	$(BUILD)/bench --torch "$(PYTHON) $(CURDIR)/examples/bench_torch.py"
	$(BUILD)/bench_avx2 --torch "$(PYTHON) $(CURDIR)/examples/bench_torch.py"
	$(BUILD)/env_speed

# The main job: q2 on obstacles (the assignment's command), then its figures.
demo: deps $(BUILD)/q2
	$(BUILD)/q2
	plot/plot.sh data data/figures
	@echo "demo done: CSVs in the data/hw4_q2_obstacles_singleiteration_* directory above, figures in data/figures/"

q1 q2 q3 q4 q5 q6: %: deps $(BUILD)/%
	$(BUILD)/$@
	plot/plot.sh data data/figures

plots: deps-run
	plot/plot.sh data data/figures

# ---------------------------------------------------------------------------------------------
# Other instruction sets (not part of make test)
# ---------------------------------------------------------------------------------------------
# The same planning scores, bit for bit, from the native build, the AVX2 build, the portable
# kernel (no vector extensions) and an AVX-512 build where this CPU has AVX-512; aarch64 (NEON,
# under qemu-user) is compared too, and agrees to the last bit on most numbers (README says why
# not on all).
ARM_CXX  := aarch64-linux-gnu-g++
ARM_RUN  := qemu-aarch64 -L /usr/aarch64-linux-gnu
ARM_DEPS := $(ARM_CXX):g++-aarch64-linux-gnu qemu-aarch64:qemu-user
ISA_FLAGS := -std=c++17 -O2 -ffp-contract=fast -fopenmp -Wall -Wextra -Werror
test-isa: deps-build
	-$(call ensure_packages,$(ARM_DEPS))
	@mkdir -p $(BUILD)/isa
	$(CXX) $(ISA_FLAGS) -march=native tests/isa_scores.cpp -o $(BUILD)/isa/native
	$(CXX) $(ISA_FLAGS) -march=haswell tests/isa_scores.cpp -o $(BUILD)/isa/avx2
	$(CXX) $(ISA_FLAGS) -march=haswell -DMBRL_PORTABLE_KERNEL tests/isa_scores.cpp -o $(BUILD)/isa/portable
	$(BUILD)/isa/native > $(BUILD)/isa/native.txt
	$(BUILD)/isa/avx2 > $(BUILD)/isa/avx2.txt
	$(BUILD)/isa/portable > $(BUILD)/isa/portable.txt
	cmp $(BUILD)/isa/native.txt $(BUILD)/isa/avx2.txt
	cmp $(BUILD)/isa/native.txt $(BUILD)/isa/portable.txt
	@if grep -qw avx512f /proc/cpuinfo; then \
	  $(CXX) $(ISA_FLAGS) -march=skylake-avx512 tests/isa_scores.cpp -o $(BUILD)/isa/avx512 && \
	  $(BUILD)/isa/avx512 > $(BUILD)/isa/avx512.txt && cmp $(BUILD)/isa/native.txt $(BUILD)/isa/avx512.txt && \
	  echo "test-isa: AVX-512 agrees"; \
	else echo "test-isa: this CPU has no AVX-512; that build is compiled only"; \
	  $(CXX) $(ISA_FLAGS) -march=skylake-avx512 tests/isa_scores.cpp -o $(BUILD)/isa/avx512; fi
	@if command -v $(ARM_CXX) >/dev/null && command -v qemu-aarch64 >/dev/null; then \
	  $(ARM_CXX) $(ISA_FLAGS) tests/isa_scores.cpp -o $(BUILD)/isa/arm64 && \
	  $(ARM_RUN) $(BUILD)/isa/arm64 > $(BUILD)/isa/arm64.txt && \
	  paste $(BUILD)/isa/native.txt $(BUILD)/isa/arm64.txt | $(PYTHON) -c 'import sys; \
	  p = [[float.fromhex(x.split()[-1]) for x in l.split("\t")] for l in sys.stdin]; s = max(abs(a) for a, b in p); \
	  d = [abs(a - b) / s for a, b in p]; n = sum(x > 0 for x in d); \
	  print("test-isa: aarch64: %d of %d numbers differ, by at most %.1e of the largest (see README)" % (n, len(d), max(d))); \
	  sys.exit(max(d) > 1e-4)'; \
	else echo "test-isa: no aarch64 cross compiler or qemu-user; skipped"; exit 1; fi
	@echo "test-isa: every x86 build gave the same $$(wc -l < $(BUILD)/isa/native.txt) numbers, bit for bit"

# The core tests (everything that needs no MuJoCo) for aarch64, run under qemu-user. doctest is
# header-only: the cross compiler sees it through a directory of its own.
ARM_TEST_SRC := tests/main.cpp tests/test_core.cpp tests/test_ensemble.cpp tests/test_link.cpp tests/test_sac.cpp \
                tests/test_torch_fixture.cpp
test-arm64: deps-build
	$(call ensure_packages,$(ARM_DEPS))
	@mkdir -p $(BUILD)/arm64/include
	ln -sfn /usr/include/doctest $(BUILD)/arm64/include/doctest
	$(ARM_CXX) $(ISA_FLAGS) -I$(BUILD)/arm64/include $(abspath $(ARM_TEST_SRC)) -o $(BUILD)/arm64/run_tests
	$(ARM_RUN) $(BUILD)/arm64/run_tests

clean:
	rm -rf $(BUILD)
