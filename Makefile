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

.PHONY: all examples test bench demo plots clean deps deps-build deps-run q1 q2 q3 q4 q5 q6
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
bench: deps-build $(BUILD)/bench $(BUILD)/env_speed
	-$(call ensure_packages,$(BENCH_DEPS))
	$(BUILD)/bench --torch "$(PYTHON) $(CURDIR)/examples/bench_torch.py"
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

clean:
	rm -rf $(BUILD)
