# mbrl.hpp: build the tests, the benchmark and one example binary per assignment question.
#
#   make demo    the short end-to-end run (q2 on obstacles), its CSVs and its plot
#   make test    build and run the doctest tests, the examples, the header, CMake, compile-fail,
#                TensorBoard, kill -9 and two-runner checks, each fuzz target once over its seed corpus
#                (fuzz-smoke), plot/plot.sh on a CSV fixture and plot/report.py on a run fixture
#   make tfevents  write the TensorBoard event file of every run under data/ (docs/tensorboard.md)
#   make test-tfevents  tiny q2 runs (fresh, interrupted and resumed): their event files decoded by
#                protoc's classes and checked against metrics.csv (tests/tfevents_test.sh)
#   make test-video  --video_log_freq: GIFs, rendered frames, tiny runs with videos (the same metrics
#                as without), their image summaries decoded by PIL and protoc's classes, the
#                obstacles' paths (tests/video_test.sh; part of make test)
#   make test-compile-fail  environment types that miss a member must not compile (part of make test)
#   make torture [KILLS=50]   tests/kill9.sh with KILLS kills (docs/reliability.md)
#   make sanitize  the tests under AddressSanitizer and UndefinedBehaviorSanitizer (long)
#   make test-kernels  the doctest tests once under each tuned kernel this CPU runs (MBRL_KERNEL)
#   make bench   speed as ratios: against this machine's FMA peak and against PyTorch, once per
#                tuned kernel this CPU runs (AVX-512 with and without bf16 products, AVX2, NEON)
#   make q1..q6  every command of one assignment question (long), then its figures
#   make plots   redraw every figure from the CSVs under data/
#   make commands [SEEDS="1 2 3"]           the assignment's commands (q1..q6), one a line per seed
#   make sweep SEEDS="1 2 3" JOBS=N         run them here with GNU parallel (complete runs skipped)
#   make slurm SEEDS="1 2 3" CPUS=C THROTTLE=T   submit them as one Slurm job array
#   make results  data/results.md (mean +- std over seeds) and README's results table
#   make report   docs/report.md, the assignment's report from the runs under data/ (intervals over
#                seeds, answers, provenance; plot/report.py), and docs/report.html where pandoc is
#   make test-slurm   a 2-task job array of tiny runs on a real Slurm (not part of make test)
#   make fuzz [FUZZ_S=60]   each libFuzzer target (tests/fuzz) for FUZZ_S seconds: executions,
#                     coverage and crashes per target (docs/fuzzing.md)
#   make test-isa     the same bits from every kernel: short runs (q2 seed 1, TS-inf, MBPO) under
#                     each kernel this CPU runs and the reference, metrics.csv and checkpoints compared
#                     byte for byte (part of make test); `make test-arm64-isa`: the planning scores
#                     of an aarch64 build under qemu-user against this machine's
#   make test-arm64   the core tests cross-built for aarch64 and run under qemu-user
#   make torch-mbpo SEED=S [TORCH_ARGS=...]   q6 rlen10 by tests/mbpo_torch.py, an independent PyTorch MBPO written
#                     from the reference spec, on this library's cheetah (the q6 cross-check, docs/results.md)
#
# Missing Debian packages (doctest-dev, libmujoco-dev, libegl-dev, gnuplot-nox, python3, Mesa's EGL and
# software renderer (libegl1, libegl-mesa0, libgl1-mesa-dri: videos), parallel, OpenMP, cmake, pkgconf,
# protobuf-compiler, python3-protobuf, python3-crc32c, python3-pil, clang and its libFuzzer runtime)
# are installed when running as root; otherwise the exact apt-get command is printed.

CXX      ?= g++
# The flags a release build of any project uses (CMake's Release: -O3): no -march, no -ffp-contract. The binaries carry a kernel per
# instruction set (mbrl_kernel.hpp) and pick the best this CPU runs when they start, so a binary
# built here runs at full speed, and gives the same numbers, on any x86-64 machine.
CXXFLAGS ?= -std=c++17 -O3 -fopenmp -Wall -Wextra
# Prerequisites build in parallel, one job per core (make -jN chooses otherwise).
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell env -u OMP_NUM_THREADS nproc 2>/dev/null || echo 2)
endif
# Where the MuJoCo envs find their MJCF files (envs/mujoco_env.hpp), so binaries run from anywhere.
CPPFLAGS += -DMBRL_ENVS_DIR=\"$(CURDIR)/envs\"
# The commit a binary was built from, written into every run's flags.csv.
CPPFLAGS += -DMBRL_COMMIT=\"$(shell git describe --always --dirty 2>/dev/null || echo unknown)\"
LDLIBS   := -lmujoco
BUILD    := build
PYTHON   := /usr/bin/python3

HEADERS  := mbrl.hpp mbrl_kernel.hpp mbrl_checkpoint.hpp $(wildcard envs/*.hpp) $(wildcard examples/*.hpp)
TEST_SRC := $(filter-out tests/isa_scores.cpp tests/cheetah_capi.cpp tests/video_tool.cpp,$(wildcard tests/*.cpp))
TEST_OBJ := $(TEST_SRC:tests/%.cpp=$(BUILD)/tests/%.o)
EXAMPLES := q1 q2 q3 q4 q5 q6 minimal pendulum bench env_speed tfevents
EX_BIN   := $(EXAMPLES:%=$(BUILD)/%)
FUZZ_TARGETS := fuzz_checkpoint fuzz_csv fuzz_cli
FUZZ_BIN := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
QUESTIONS := q1 q2 q3 q4 q5 q6
Q_BIN    := $(QUESTIONS:%=$(BUILD)/%)

.PHONY: all examples test bench demo plots clean torch-mbpo deps deps-build deps-run q1 q2 q3 q4 q5 q6 \
        commands sweep slurm results report test-slurm deps-sweep test-isa test-arm64 test-arm64-isa sanitize \
        tfevents test-tfevents deps-tfevents test-compile-fail torture test-kernels \
        fuzz fuzz-smoke deps-fuzz
all: examples
examples: deps-build $(EX_BIN)

# ---------------------------------------------------------------------------------------------
# Dependencies: "file-or-command:package" pairs; whatever is missing is installed in one go.
# ---------------------------------------------------------------------------------------------
# EGL's headers: examples/render.hpp (libEGL itself is opened at run time, only to render videos).
BUILD_DEPS := /usr/include/doctest/doctest.h:doctest-dev /usr/include/mujoco/mujoco.h:libmujoco-dev \
              /usr/include/EGL/egl.h:libegl-dev
# Videos (--video_log_freq): libEGL, Mesa's EGL (its surfaceless platform) and its software renderer.
MULTIARCH  := $(shell $(CXX) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
VIDEO_DEPS := /usr/lib/$(MULTIARCH)/libEGL.so.1:libegl1 /usr/share/glvnd/egl_vendor.d/50_mesa.json:libegl-mesa0 \
              /usr/lib/$(MULTIARCH)/dri/swrast_dri.so:libgl1-mesa-dri
RUN_DEPS   := gnuplot:gnuplot-nox $(PYTHON):python3 $(VIDEO_DEPS)
SWEEP_DEPS := parallel:parallel
# clang++ and its libFuzzer runtime (the archive's path names the LLVM version: found by wildcard)
FUZZ_DEPS  := clang++:clang \
              $(firstword $(wildcard /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a)):libclang-rt-dev

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
	    ( apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get -o DPkg::Lock::Timeout=600 install -y -qq $$missing >/dev/null ) \
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
deps-sweep:
	$(call ensure_packages,$(SWEEP_DEPS))
deps-fuzz:
	$(call ensure_packages,$(FUZZ_DEPS))

# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
# The test files compile at -O1 (a third faster to build than -O3; the numbers are the same bits).
TEST_CXXFLAGS ?= $(patsubst -O%,-O1,$(CXXFLAGS))
$(BUILD)/tests/%.o: tests/%.cpp $(HEADERS) tests/helpers.hpp | deps-build
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(TEST_CXXFLAGS) -c $(abspath $<) -o $@

# The test binary compiles the kernels once, in test_kernel.o (mbrl_kernel.hpp: MBRL_KERNEL_SEPARATE),
# not in each of its translation units.
$(BUILD)/tests/%.o $(BUILD)/san/tests/%.o: CPPFLAGS += -DMBRL_KERNEL_SEPARATE
$(BUILD)/tests/test_kernel.o $(BUILD)/san/tests/test_kernel.o: CPPFLAGS += -DMBRL_KERNEL_IMPLEMENTATION
# The sweep tests run build/q2 and build/q4 --print_commands.
$(BUILD)/tests/test_sweep.o: CPPFLAGS += -DMBRL_BUILD_DIR=\"$(CURDIR)/$(BUILD)\"

$(BUILD)/run_tests: $(TEST_OBJ)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

# examples/minimal.cpp, the API tour, must compile and run, and so must the same program built
# without OpenMP (the pragmas compile away), warning-free.
$(BUILD)/minimal_serial: examples/minimal.cpp $(HEADERS) | deps-build
	@mkdir -p $(BUILD)
	$(CXX) $(CPPFLAGS) $(filter-out -fopenmp,$(CXXFLAGS)) -Werror $< -o $@ $(LDLIBS)

# The tests under AddressSanitizer and UndefinedBehaviorSanitizer (any report fails the run).
# SANITIZE_ARGS passes doctest options, e.g. SANITIZE_ARGS='-tc=*Checkpoint*'.
SAN_FLAGS := -std=c++17 -O1 -g -fno-omit-frame-pointer -fopenmp -Wall -Wextra \
             -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_OBJ  := $(TEST_SRC:tests/%.cpp=$(BUILD)/san/tests/%.o)
SANITIZE_ARGS ?=
$(BUILD)/san/tests/%.o: tests/%.cpp $(HEADERS) tests/helpers.hpp | deps-build
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(SAN_FLAGS) -c $(abspath $<) -o $@
$(BUILD)/san/tests/test_sweep.o: CPPFLAGS += -DMBRL_BUILD_DIR=\"$(CURDIR)/$(BUILD)\"
$(BUILD)/san/run_tests: $(SAN_OBJ)
	$(CXX) $(SAN_FLAGS) $^ -o $@ $(LDLIBS)
sanitize: deps-build $(BUILD)/san/run_tests $(BUILD)/q2 $(BUILD)/q4
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/san/run_tests $(SANITIZE_ARGS)

# The doctest tests under each tuned kernel this CPU runs (the AVX2 one is what most laptops run).
test-kernels: deps-build $(BUILD)/run_tests $(BUILD)/bench $(BUILD)/q2 $(BUILD)/q4
	@for k in $$($(BUILD)/bench --kernels); do echo "test-kernels: MBRL_KERNEL=$$k"; \
	  MBRL_KERNEL=$$k $(BUILD)/run_tests || exit 1; done

# make test: the checks below, each as soon as what it needs is built, two at a time (one per core:
# MAKEFLAGS -j). Each check's output goes to $(BUILD)/test-logs/<check>.log and is printed only if
# it fails; a line per check says how long it took. Every package is installed first, at once.
CHECKS := unit isa minimal headers plots report docs cmake compile-fail kill9 two-runners fuzz-smoke tfevents video
test: $(CHECKS:%=check-%)
	@echo "make test: $(words $(CHECKS)) checks passed (logs in $(BUILD)/test-logs)"
test-deps: deps-build
	$(call ensure_packages,$(RUN_DEPS) $(FUZZ_DEPS) $(TFEVENTS_DEPS) $(CMAKE_DEPS) $(VIDEO_TEST_DEPS))
# $(call check,NAME,COMMAND): COMMAND with its output in the check's log.
define check
	@mkdir -p $(BUILD)/test-logs; start=$$(date +%s); \
	if ( $(2) ) >$(BUILD)/test-logs/$(1).log 2>&1; then \
	  echo "test: $(1) passed ($$(( $$(date +%s) - start )) s)"; \
	else status=$$?; cat $(BUILD)/test-logs/$(1).log; \
	  echo "test: $(1) FAILED (exit $$status; the log above is $(BUILD)/test-logs/$(1).log)"; exit 1; fi
endef
check-unit: test-deps $(BUILD)/run_tests $(BUILD)/q2 $(BUILD)/q4
	$(call check,unit,$(BUILD)/run_tests)
check-isa: test-deps $(BUILD)/q2 $(BUILD)/q3 $(BUILD)/q6 $(BUILD)/bench
	$(call check,isa,tests/same_bits.sh $(BUILD))
check-minimal: test-deps $(BUILD)/minimal $(BUILD)/minimal_serial
	$(call check,minimal,$(BUILD)/minimal && $(BUILD)/minimal_serial)
check-headers: test-deps
	$(call check,headers,tests/headers/run.sh)
check-plots: test-deps
	$(call check,plots,tests/plot_test.sh $(BUILD)/plot_test)
check-report: test-deps
	$(call check,report,PYTHON=$(PYTHON) tests/report_test.sh $(BUILD)/report_test)
check-docs: test-deps
	$(call check,docs,$(PYTHON) tests/docs_check.py)
check-cmake: test-deps
	$(call check,cmake,CXX="$(CXX)" tests/cmake/run.sh)
check-compile-fail: test-deps
	$(call check,compile-fail,tests/compile_fail/run.sh "$(CXX)")
check-kill9: test-deps $(BUILD)/q2 $(BUILD)/q6
	$(call check,kill9,tests/kill9.sh --build $(BUILD) --kills 12)
check-two-runners: test-deps $(BUILD)/q2
	$(call check,two-runners,tests/two_runners.sh --build $(BUILD))
check-fuzz-smoke: test-deps $(FUZZ_BIN)
	$(call check,fuzz-smoke,$(MAKE) --no-print-directory fuzz-smoke)
check-tfevents: test-deps $(BUILD)/q2 $(BUILD)/tfevents
	$(call check,tfevents,PYTHON=$(PYTHON) tests/tfevents_test.sh $(BUILD) $(CURDIR)/$(BUILD)/test-tfevents)
check-video: test-deps $(BUILD)/q2 $(BUILD)/q3 $(BUILD)/q6 $(BUILD)/tfevents $(BUILD)/video_tool
	$(call check,video,PYTHON=$(PYTHON) tests/video_test.sh $(BUILD) $(CURDIR)/$(BUILD)/test-video)
.PHONY: test test-deps $(CHECKS:%=check-%)

# The three ways into the library from another project (docs/cmake.md): find_package after
# cmake --install into a temporary prefix, add_subdirectory, pkg-config (tests/cmake/run.sh).
CMAKE_DEPS := cmake:cmake pkg-config:pkgconf
.PHONY: test-cmake
test-cmake: deps-build
	$(call ensure_packages,$(CMAKE_DEPS))
	CXX="$(CXX)" tests/cmake/run.sh

# TensorBoard event files (docs/tensorboard.md): tiny q2 runs, fresh, stopped by SIGINT, killed
# and cut off, each resumed; their event files decoded by Debian's protoc classes and crc32c.
TFEVENTS_DEPS := $(PYTHON):python3 protoc:protobuf-compiler /usr/lib/python3/dist-packages/google/protobuf/__init__.py:python3-protobuf \
                 /usr/share/doc/python3-crc32c/copyright:python3-crc32c
deps-tfevents:
	$(call ensure_packages,$(TFEVENTS_DEPS))
test-tfevents: deps-build deps-tfevents $(BUILD)/q2 $(BUILD)/tfevents
	PYTHON=$(PYTHON) tests/tfevents_test.sh $(BUILD) $(CURDIR)/$(BUILD)/test-tfevents

# Videos (docs/running.md, docs/tensorboard.md): tests/video_test.sh with build/video_tool (synthetic
# GIFs, rendered frames) and tiny q2, q3 and q6 runs, checked by PIL and protoc's classes.
VIDEO_TEST_DEPS := $(VIDEO_DEPS) /usr/lib/python3/dist-packages/PIL/__init__.py:python3-pil gnuplot:gnuplot-nox
$(BUILD)/video_tool: tests/video_tool.cpp $(HEADERS) | deps-build
	@mkdir -p $(BUILD)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $< -o $@ $(LDLIBS)
.PHONY: test-video
test-video: deps-build deps-tfevents $(BUILD)/q2 $(BUILD)/q3 $(BUILD)/q6 $(BUILD)/tfevents $(BUILD)/video_tool
	$(call ensure_packages,$(VIDEO_TEST_DEPS))
	PYTHON=$(PYTHON) tests/video_test.sh $(BUILD) $(CURDIR)/$(BUILD)/test-video

# A type that is not an environment, given to sample_trajectories, run_mb or run_mbpo, must fail
# to compile with mbrl.hpp's message naming the missing member (tests/compile_fail/run.sh).
test-compile-fail:
	tests/compile_fail/run.sh "$(CXX)"
# kill -9 at any instant, the long version (docs/reliability.md).
KILLS ?= 50
torture: deps-build $(BUILD)/q2 $(BUILD)/q6
	tests/kill9.sh --build $(BUILD) --kills $(KILLS)

# ---------------------------------------------------------------------------------------------
# Examples, benchmark, demo
# ---------------------------------------------------------------------------------------------
$(BUILD)/%: examples/%.cpp $(HEADERS) | deps-build
	@mkdir -p $(BUILD)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $< -o $@ $(LDLIBS)

# PyTorch (Debian's python3-torch, with OpenBLAS) is the baseline; without it the bench still runs.
BENCH_DEPS := /usr/lib/python3/dist-packages/torch:python3-torch \
              /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3:libopenblas0-pthread
# Once per tuned kernel this CPU runs (build/bench --kernels: AVX-512 with and without bf16
# products, AVX2), each against PyTorch given the same instruction set.
bench: deps-build $(BUILD)/bench $(BUILD)/env_speed
	-$(call ensure_packages,$(BENCH_DEPS))
	@for k in $$($(BUILD)/bench --kernels); do \
	  MBRL_KERNEL=$$k $(BUILD)/bench --torch "$(PYTHON) $(CURDIR)/examples/bench_torch.py" || exit 1; done
	$(BUILD)/env_speed

# The cross-check of q6 in PyTorch: the C++ cheetah through a C shim, everything else in torch.
$(BUILD)/libcheetah_capi.so: tests/cheetah_capi.cpp $(HEADERS) | deps-build
	@mkdir -p $(BUILD)
	$(CXX) -O2 -std=c++17 -shared -fPIC $(CPPFLAGS) -I. $< -o $@ -lmujoco
SEED ?= 1
torch-mbpo: deps-build $(BUILD)/libcheetah_capi.so
	-$(call ensure_packages,$(BENCH_DEPS))
	env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 $(PYTHON) tests/mbpo_torch.py --seed $(SEED) \
	    --out data/torch/q6_cheetah_rlen10_seed$(SEED) $(TORCH_ARGS)

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

# The assignment's report from the runs under data/ and the figures in data/figures/ (`make plots`
# draws them; the report links them and says which are missing). HTML beside it only if pandoc is
# installed: the Markdown is the report.
report: deps-run
	$(PYTHON) plot/report.py --data data --out docs/report.md
	@if command -v pandoc >/dev/null 2>&1; then \
	  pandoc --standalone --metadata pagetitle="CS285 HW4 report" docs/report.md -o docs/report.html && \
	  echo "report: wrote docs/report.html"; \
	else echo "report: no pandoc, so no docs/report.html (docs/report.md is the report)"; fi

# The event file of every run under data/ from its metrics.csv (runs whose file is up to date, or
# held by a running run, are left alone), so that `tensorboard --logdir data` shows them.
tfevents: $(BUILD)/tfevents
	$(BUILD)/tfevents data

# ---------------------------------------------------------------------------------------------
# Other instruction sets (not part of make test)
# ---------------------------------------------------------------------------------------------
# The same bits from every kernel (tests/same_bits.sh: the binaries are built with the default
# flags and carry every kernel; MBRL_KERNEL picks one).
test-isa: deps-build $(BUILD)/q2 $(BUILD)/q3 $(BUILD)/q6 $(BUILD)/bench
	tests/same_bits.sh $(BUILD)

# aarch64 (NEON) against this machine: the planning scores of tests/isa_scores.cpp (no MuJoCo),
# cross-built and run under qemu-user, against the same program built here.
ARM_CXX  := aarch64-linux-gnu-g++
ARM_RUN  := qemu-aarch64 -L /usr/aarch64-linux-gnu
ARM_DEPS := $(ARM_CXX):g++-aarch64-linux-gnu qemu-aarch64:qemu-user
ISA_FLAGS := -std=c++17 -O2 -fopenmp -Wall -Wextra -Werror
test-arm64-isa: deps-build
	$(call ensure_packages,$(ARM_DEPS))
	@mkdir -p $(BUILD)/isa
	$(CXX) $(ISA_FLAGS) tests/isa_scores.cpp -o $(BUILD)/isa/x86
	$(ARM_CXX) $(ISA_FLAGS) tests/isa_scores.cpp -o $(BUILD)/isa/arm64
	$(BUILD)/isa/x86 > $(BUILD)/isa/x86.txt
	$(ARM_RUN) $(BUILD)/isa/arm64 > $(BUILD)/isa/arm64.txt
	@paste $(BUILD)/isa/x86.txt $(BUILD)/isa/arm64.txt | $(PYTHON) -c 'import sys; \
	  p = [[float.fromhex(x.split()[-1]) for x in l.split("\t")] for l in sys.stdin]; s = max(abs(a) for a, b in p); \
	  d = [abs(a - b) / s for a, b in p]; n = sum(x > 0 for x in d); \
	  print("test-arm64-isa: %d of %d numbers differ, by at most %.1e of the largest" % (n, len(d), max(d))); \
	  sys.exit(n > 0)'

# The core tests (everything that needs no MuJoCo) for aarch64, run under qemu-user. doctest is
# header-only: the cross compiler sees it through a directory of its own.
ARM_TEST_SRC := tests/main.cpp tests/test_core.cpp tests/test_ensemble.cpp tests/test_kernel.cpp tests/test_link.cpp tests/test_sac.cpp \
                tests/test_torch_fixture.cpp
test-arm64: deps-build
	$(call ensure_packages,$(ARM_DEPS))
	@mkdir -p $(BUILD)/arm64/include
	ln -sfn /usr/include/doctest $(BUILD)/arm64/include/doctest
	$(ARM_CXX) $(ISA_FLAGS) -I$(BUILD)/arm64/include $(abspath $(ARM_TEST_SRC)) -o $(BUILD)/arm64/run_tests
	$(ARM_RUN) $(BUILD)/arm64/run_tests

clean:
	rm -rf $(BUILD)

# ---------------------------------------------------------------------------------------------
# Sweeps: the assignment's commands for several seeds (docs/sweeps.md)
# ---------------------------------------------------------------------------------------------
SEEDS    ?= 1
JOBS     ?= 2
CPUS     ?= 1
THROTTLE ?= 8

# Only the commands on stdout (building the binaries, if needed, reports on stderr).
commands:
	@$(MAKE) --no-print-directory -s deps-build $(Q_BIN) >&2
	@examples/sweep.sh commands --seeds "$(SEEDS)"

# data/results.md and README's table (see `results` below)
WRITE_RESULTS = examples/sweep.sh commands > $(BUILD)/commands.txt && \
	$(PYTHON) plot/aggregate.py results data $(BUILD)/commands.txt data/results.md --readme README.md

# Runs the list here; afterwards (also after failures) the results table and the figures.
# (No $(MAKE) in this recipe: `make -n sweep` must only print it.)
sweep: deps deps-sweep $(Q_BIN)
	@mkdir -p $(BUILD)
	status=0; examples/sweep.sh local --jobs $(JOBS) --seeds "$(SEEDS)" || status=$$?; \
	$(WRITE_RESULTS); plot/plot.sh data data/figures; exit $$status

slurm: deps-build $(Q_BIN)
	examples/sweep.sh slurm --seeds "$(SEEDS)" --cpus $(CPUS) --throttle $(THROTTLE)

# data/results.md from every run under data/ (the list of runs: the commands of seed 1), pasted
# into README.md between <!-- results --> and <!-- /results -->.
results: deps-run $(Q_BIN)
	@mkdir -p $(BUILD)
	$(WRITE_RESULTS)

# A real Slurm end to end: a 2-task array (q2, seeds 1 and 2, tiny settings) through the same
# script as `make slurm`; both runs must leave a complete metrics.csv. Uses the Slurm that answers
# `sinfo`; if none does and $(SLURM_LOCAL) exists, starts that one-node Slurm and stops it after.
SLURM_LOCAL ?= $(CURDIR)/tests/slurm-local.sh
TEST_SLURM  := $(CURDIR)/$(BUILD)/test-slurm
TINY_FLAGS  := --n_iter 2 --batch_size_initial 500 --batch_size 200 --eval_batch_size 200 \
               --num_agent_train_steps_per_iter 5 --mpc_num_action_sequences 50 --n_layers 1 --size 32
test-slurm: deps-build $(BUILD)/q2
	@rm -rf $(TEST_SLURM); started=0; \
	if ! sinfo >/dev/null 2>&1; then \
	  if [ -x "$(SLURM_LOCAL)" ]; then $(SLURM_LOCAL) start && started=1 || exit 1; \
	  else echo "test-slurm: no Slurm answers sinfo (and no $(SLURM_LOCAL))"; exit 1; fi; \
	fi; \
	status=0; \
	timeout 600 examples/sweep.sh slurm --questions q2 --seeds 1,2 --throttle 2 --wait -- \
	  $(TINY_FLAGS) --data_dir $(TEST_SLURM)/data || status=1; \
	n=0; for m in $(TEST_SLURM)/data/hw4_q2_*/metrics.csv; do \
	  [ -f "$$m" ] || continue; rows=$$(($$(wc -l < "$$m") - 1)); \
	  seed=$$(sed -n 's/^seed,//p' "$$(dirname "$$m")/flags.csv"); \
	  echo "test-slurm: seed $$seed: $$rows of 2 rows in $$m"; [ "$$rows" = 2 ] && n=$$((n + 1)); \
	done; \
	for f in $(TEST_SLURM)/data/sweep/slurm-*/task-*.log; do echo "--- $$f"; tail -n 3 "$$f"; done; \
	echo "test-slurm: the same array again: both tasks must skip their complete run"; \
	timeout 600 examples/sweep.sh slurm --questions q2 --seeds 1,2 --throttle 2 --wait -- \
	  $(TINY_FLAGS) --data_dir $(TEST_SLURM)/data || status=1; \
	skips=$$(cat $(TEST_SLURM)/data/sweep/slurm-*/task-*.log | grep -c '^skip: '); \
	dirs=$$(ls -d $(TEST_SLURM)/data/hw4_q2_* | wc -l); \
	echo "test-slurm: $$skips of 2 tasks skipped, $$dirs run directories"; \
	[ "$$skips" = 2 ] && [ "$$dirs" = 2 ] || status=1; \
	[ $$started = 1 ] && $(SLURM_LOCAL) stop; \
	if [ $$status = 0 ] && [ $$n = 2 ]; then echo "test-slurm: OK (2 tasks, 2 complete metrics.csv)"; \
	else echo "test-slurm: FAILED (status $$status, $$n of 2 complete runs)"; exit 1; fi

# ---------------------------------------------------------------------------------------------
# Fuzzing: libFuzzer targets for every reader of outside bytes (docs/fuzzing.md), built by
# Debian's clang++ under AddressSanitizer and UndefinedBehaviorSanitizer, at -O1
# ---------------------------------------------------------------------------------------------
FUZZ_CXX     := clang++
FUZZ_FLAGS   := -std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
# One allocation over 512 MB, or 2 GB resident, is a finding; so is one input taking 10 s.
FUZZ_LIMITS  := -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10
FUZZ_S       ?= 60
$(BUILD)/fuzz/%: tests/fuzz/%.cpp tests/fuzz/fuzz_util.hpp tests/fuzz/fuzz_runs.hpp $(HEADERS) | deps-build deps-fuzz
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(CPPFLAGS) $(FUZZ_FLAGS) $(abspath $<) -o $@ $(LDLIBS)

# Part of make test: each target over its seed corpus and its regression inputs, once.
fuzz-smoke: deps-fuzz $(FUZZ_BIN)
	@for t in $(FUZZ_TARGETS); do \
	  dirs="tests/fuzz/corpus/$$t"; [ -d tests/fuzz/regressions/$$t ] && dirs="$$dirs tests/fuzz/regressions/$$t"; \
	  $(BUILD)/fuzz/$$t -runs=0 $(FUZZ_LIMITS) $$dirs > $(BUILD)/fuzz/$$t.smoke.log 2>&1 \
	  || { cat $(BUILD)/fuzz/$$t.smoke.log; echo "fuzz-smoke: $$t FAILED"; exit 1; }; \
	  echo "fuzz-smoke: $$t: $$(find $$dirs -type f | wc -l) inputs," \
	    "$$(grep -o 'cov: [0-9]* ft: [0-9]*' $(BUILD)/fuzz/$$t.smoke.log | tail -1), no crash"; \
	done

# Each target for FUZZ_S seconds, one process, one target at a time, from its seed corpus (new
# inputs go to $(BUILD)/fuzz/<target>.run/corpus, crashes to $(BUILD)/fuzz/<target>.run/crash-*).
fuzz: deps-fuzz $(FUZZ_BIN)
	@status=0; for t in $(FUZZ_TARGETS); do \
	  w=$(BUILD)/fuzz/$$t.run; rm -rf $$w; mkdir -p $$w/corpus; \
	  echo "fuzz: $$t for $(FUZZ_S) s"; \
	  ( cd $$w && $(CURDIR)/$(BUILD)/fuzz/$$t -jobs=1 -workers=1 -max_total_time=$(FUZZ_S) $(FUZZ_LIMITS) \
	      -print_final_stats=1 -artifact_prefix=$(CURDIR)/$$w/ corpus $(CURDIR)/tests/fuzz/corpus/$$t \
	      > run.log 2>&1 ); \
	  log=$$w/fuzz-0.log; [ -f $$log ] || log=$$w/run.log; \
	  execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -1); \
	  cov=$$(grep -o 'cov: [0-9]* ft: [0-9]*' $$log | tail -1); \
	  crashes=$$(ls $$w | grep -cE '^(crash|leak|timeout|oom)-'); \
	  printf 'fuzz: %-16s %9s executions  %-20s  %s crash(es)\n' $$t "$${execs:-?}" "$$cov" $$crashes; \
	  for c in $$(ls $$w | grep -E '^(crash|leak|timeout|oom)-'); do echo "  $$w/$$c"; grep -m3 -E 'ERROR|fuzz finding' $$log; done; \
	  [ "$$crashes" = 0 ] || status=1; \
	done; exit $$status
