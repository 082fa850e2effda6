#!/bin/sh
# The three ways into mbrl from another project (docs/cmake.md), each building and running the
# consumers in this directory at -O1, in a temporary directory:
#   find_package      cmake --install of a copy of the sources into a prefix, the copy removed
#                     and the prefix moved, then find_package(mbrl CONFIG REQUIRED COMPONENTS
#                     envs) with CMAKE_PREFIX_PATH=<prefix>: plan.cpp (mbrl::mbrl) and envs.cpp
#                     (mbrl::envs, whose MJCF must come from <prefix>/share/mbrl/envs)
#   add_subdirectory  add_subdirectory(<this checkout> mbrl): plan.cpp and envs.cpp
#   pkg-config        g++ $(pkg-config --cflags mbrl) plan.cpp, and envs.cpp with
#                     -DMBRL_ENVS_DIR from pkg-config --variable=envsdir mbrl -lmujoco;
#                     PKG_CONFIG_PATH=<prefix>/share/pkgconfig
# Prints one line per way and "cmake consumers: N passed, M failed"; exits 1 on any failure.
# CXX picks the compiler (default g++); MBRL_KEEP_TMP=1 keeps the temporary directory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cxx=${CXX:-g++}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mbrl-cmake.XXXXXX") || exit 1
[ "${MBRL_KEEP_TMP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
unset MBRL_ENVS_DIR  # the run-time override (envs/mujoco_env.hpp) would hide the compiled-in path
export CMAKE_BUILD_PARALLEL_LEVEL=1 CXX="$cxx"
prefix=$tmp/prefix
passed=0
failed=0

# step LOG COMMAND...: runs COMMAND, its output appended to LOG
step() {
  log=$1; shift
  echo "+ $*" >>"$log"
  "$@" >>"$log" 2>&1
}
# The consumer's last lines name its kernel: a tuned one on x86-64 with AVX2 and FMA, and on
# aarch64, whatever flags built it (mbrl_kernel.hpp is installed beside mbrl.hpp).
tuned() {
  if { grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; } || [ "$(uname -m)" = aarch64 ]; then
    tail -n 2 "$1" | grep -q "^kernel \(avx\|neon\)" || { echo "the consumer ran the reference kernel" >>"$1"; return 1; }
  fi
}
result() {  # result NAME STATUS LOG DETAIL
  if [ "$2" = 0 ]; then
    passed=$((passed + 1)); echo "cmake consumers: $1: ok ($4)"
  else
    failed=$((failed + 1)); echo "cmake consumers: $1: FAILED; the end of its log:"
    tail -n 25 "$3" | sed 's/^/    /'
  fi
}

# The package, installed from a copy of the sources that is then removed, so nothing can
# reach back into a source tree; installed into one prefix and then moved to another, so
# nothing may depend on the install prefix either.
log=$tmp/install.log
src=$tmp/src
staging=$tmp/staging
mkdir -p "$src/envs"
cp -R "$root/CMakeLists.txt" "$root/cmake" "$src/" && cp "$root"/mbrl*.hpp "$src/" &&
  cp "$root"/envs/*.hpp "$root"/envs/*.xml "$src/envs/" &&
  step "$log" cmake -S "$src" -B "$tmp/pkg-build" -DMBRL_BUILD_TESTS=OFF &&
  step "$log" cmake --install "$tmp/pkg-build" --prefix "$staging" &&
  rm -rf "$src" "$tmp/pkg-build" && mv "$staging" "$prefix"
installed=$?
for f in "$root"/mbrl*.hpp "$root"/envs/*.hpp; do
  case $f in */envs/*) dest=$prefix/include/mbrl/envs ;; *) dest=$prefix/include/mbrl ;; esac
  [ $installed = 0 ] && [ ! -f "$dest/${f##*/}" ] && { echo "not installed: $f" >>"$log"; installed=1; }
done
for f in "$root"/envs/*.xml; do
  [ $installed = 0 ] && [ ! -f "$prefix/share/mbrl/envs/${f##*/}" ] && { echo "not installed: $f" >>"$log"; installed=1; }
done
if [ $installed = 0 ] && grep -rl "$src\|$tmp/pkg-build\|$staging" "$prefix" >>"$log"; then
  echo "the installed files above name the source, build or install directory" >>"$log"; installed=1
fi

# (a) find_package against the prefix
log=$tmp/find_package.log
if [ $installed = 0 ]; then
  step "$log" cmake -S "$here/find_package" -B "$tmp/a" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS=-O1 &&
    step "$log" cmake --build "$tmp/a" &&
    step "$log" "$tmp/a/plan" && tuned "$log" &&
    step "$log" "$tmp/a/envs" "$prefix/share/mbrl/envs"
  status=$?
else
  cat "$tmp/install.log" >"$log"; status=1
fi
result find_package $status "$log" "$(grep -h '^action\|^MJCF' "$log" | tr '\n' ' ' | sed 's/ $//')"

# (b) add_subdirectory of this checkout
log=$tmp/add_subdirectory.log
step "$log" cmake -S "$here/add_subdirectory" -B "$tmp/b" -DMBRL_SOURCE_DIR="$root" -DCMAKE_CXX_FLAGS=-O1 &&
  step "$log" cmake --build "$tmp/b" &&
  step "$log" "$tmp/b/plan" && tuned "$log" &&
  step "$log" "$tmp/b/envs" "$root/envs"
result add_subdirectory $? "$log" "$(grep -h '^action\|^MJCF' "$log" | tr '\n' ' ' | sed 's/ $//')"

# (c) pkg-config and plain compiler commands: plan.cpp without -fopenmp (the serial build),
# envs.cpp with it, -lmujoco and MBRL_ENVS_DIR from the variable envsdir
log=$tmp/pkg-config.log
if [ $installed = 0 ]; then
  cflags=$(PKG_CONFIG_PATH="$prefix/share/pkgconfig" pkg-config --cflags mbrl 2>>"$log")
  echo "pkg-config --cflags mbrl: $cflags" >>"$log"
  envsdir=$(PKG_CONFIG_PATH="$prefix/share/pkgconfig" pkg-config --variable=envsdir mbrl 2>>"$log")
  echo "pkg-config --variable=envsdir mbrl: $envsdir" >>"$log"
  # shellcheck disable=SC2086  # $cflags is a list of words
  [ -n "$cflags" ] && [ -n "$envsdir" ] &&
    step "$log" "$cxx" $cflags -O1 "$here/plan.cpp" -o "$tmp/plan_pc" &&
    step "$log" "$tmp/plan_pc" && tuned "$log" &&
    step "$log" "$cxx" $cflags -O1 -fopenmp -DMBRL_ENVS_DIR="\"$envsdir\"" "$here/envs.cpp" \
      -o "$tmp/envs_pc" -lmujoco &&
    step "$log" "$tmp/envs_pc" "$envsdir"
  status=$?
else
  cat "$tmp/install.log" >"$log"; status=1
fi
result pkg-config $status "$log" "$(grep -h '^action\|^MJCF' "$log" | tr '\n' ' ' | sed 's/ $//')"

echo "cmake consumers: $passed passed, $failed failed"
[ $failed = 0 ]
