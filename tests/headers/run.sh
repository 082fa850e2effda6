#!/usr/bin/env bash
# mbrl.hpp, mbrl_kernel.hpp (which includes mbrl.hpp first) and mbrl_checkpoint.hpp each compile
# alone, warning-free, in two translation units of one program, with g++ and clang++ (where
# present), with -fopenmp (and mbrl.hpp without it too); the program runs.
# So does mbrl.hpp copied alone into a directory (no mbrl_kernel.hpp beside it: the reference
# kernel), and the program says so.
set -u
cd "$(dirname "$0")"
root=$(cd ../.. && pwd) out=$(mktemp -d) pass=0 fail=0
for cxx in g++ clang++; do
    command -v $cxx >/dev/null || { echo "headers: $cxx not found, skipped"; continue; }
    for omp in "" -fopenmp; do
        # (Without OpenMP, mbrl.hpp only: the OpenMP pragmas are all in it, behind MBRL_OMP.)
        headers="mbrl.hpp mbrl_kernel.hpp mbrl_checkpoint.hpp"
        [[ -z $omp ]] && headers=mbrl.hpp
        for h in $headers; do
            flags="-std=c++17 -O0 -Wall -Wextra -Wpedantic -Wshadow -Werror $omp -I$root -DHEADER=\"$h\""
            if $cxx $flags -DTU=f1 -c tu_a.cpp -o "$out/a.o" && $cxx $flags -DTU=f2 -c tu_a.cpp -o "$out/b.o" &&
               $cxx $omp main.cpp "$out/a.o" "$out/b.o" -o "$out/t" && "$out/t"; then
                pass=$((pass + 1))
            else
                echo "headers: FAILED: $cxx ${omp:-(no OpenMP)} $h"; fail=$((fail + 1))
            fi
        done
    done
done
# mbrl.hpp alone: the reference kernel, named by kernel_name().
mkdir -p "$out/alone"
cp "$root/mbrl.hpp" "$out/alone/"
for cxx in g++ clang++; do
    command -v $cxx >/dev/null || continue
    flags="-std=c++17 -O0 -Wall -Wextra -Wpedantic -Wshadow -Werror -fopenmp -I$out/alone -DHEADER=\"mbrl.hpp\""
    if $cxx $flags -DTU=f1 -c tu_a.cpp -o "$out/a.o" && $cxx $flags -DTU=f2 -c tu_a.cpp -o "$out/b.o" &&
       $cxx -std=c++17 -fopenmp -I"$out/alone" -DKERNEL_NAME main.cpp "$out/a.o" "$out/b.o" -o "$out/t" &&
       [ "$("$out/t")" = reference ]; then
        pass=$((pass + 1))
    else
        echo "headers: FAILED: $cxx mbrl.hpp alone (no mbrl_kernel.hpp: the reference kernel)"; fail=$((fail + 1))
    fi
done
rm -rf "$out"
echo "headers: $pass passed, $fail failed"
[ "$fail" = 0 ]
