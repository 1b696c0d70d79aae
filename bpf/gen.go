//go:build linux

package bpf

// bpf2go compiles flow.c with the system's clang and libbpf headers (Debian:
// clang, libbpf-dev) and writes flow_bpfel.go and flow_bpfel.o, both
// committed, so that building needs no LLVM. Flags:
//   -tags linux           the generated file builds on Linux only, like the loader
//   -target bpfel         little-endian BPF: nodes are amd64 or arm64, and the
//                         program reads no pt_regs, so one object fits both
//   -type flow_key ...    generate the Go types instead of mirroring C by hand
//   -O2 -g -Wall -Werror  optimised, with BTF, no warnings
//   -fdebug-prefix-map    keep the checkout's path out of the object, so that
//                         `make generate` is byte-for-byte reproducible
//go:generate go tool bpf2go -tags linux -target bpfel -type flow_key -type flow_val -type overflow_key -type health_key -type health_val -type keep_key -type name_event flow flow.c -- -O2 -g -Wall -Werror -fdebug-prefix-map=${PWD}=.
