#!/bin/sh
# tests/compile_fail/run.sh [CXX]: the environment concept's compile-time errors (mbrl.hpp,
# check_environment). Every tests/compile_fail/*.cpp says on its first line what to expect:
#   // expect: compiles        must compile, warning-free
#   // expect: <member>        must fail, and the compiler's first error must say
#                              "mbrl: the environment type has no member <member>"
# Only the syntax is checked (-fsyntax-only instantiates the templates), so nothing is linked.
# The last line is "compile-fail: N passed, M failed"; the exit status is 1 if M > 0.
CXX=${1:-g++}
dir=$(cd "$(dirname "$0")" && pwd)
flags="-std=c++17 -fsyntax-only -Wall -Wextra -Wpedantic -Wshadow"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
passed=0
failed=0
for f in "$dir"/*.cpp; do
    name=$(basename "$f")
    expect=$(sed -n '1s|^// expect: ||p' "$f")
    if [ -z "$expect" ]; then
        echo "compile-fail: $name: FAILED (no '// expect:' first line)"
        failed=$((failed + 1))
        continue
    fi
    if [ "$expect" = compiles ]; then
        if $CXX $flags -Werror "$f" >"$out" 2>&1; then
            echo "compile-fail: $name: compiles, as expected"
            passed=$((passed + 1))
        else
            echo "compile-fail: $name: FAILED (expected to compile):"
            head -n 20 "$out"
            failed=$((failed + 1))
        fi
        continue
    fi
    message="mbrl: the environment type has no member $expect"
    if $CXX $flags "$f" >"$out" 2>&1; then
        echo "compile-fail: $name: FAILED (compiled, expected the error '$message')"
        failed=$((failed + 1))
    elif grep -m 1 'error:' "$out" | grep -qF "$message"; then
        echo "compile-fail: $name: fails with '$(grep -oF "$message" "$out" | head -n 1) ...', as expected"
        passed=$((passed + 1))
    else
        echo "compile-fail: $name: FAILED (the first error is not '$message'):"
        head -n 20 "$out"
        failed=$((failed + 1))
    fi
done
echo "compile-fail: $passed passed, $failed failed"
[ "$failed" = 0 ]
