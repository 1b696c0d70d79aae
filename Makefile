# netcost: `make test` is what CI runs (see .ci/run); the README's first command is the main job.
GO      ?= go
PKGS    := ./...
BENCH_RECORDS ?= 10000000
# Binaries name their commit in --version, also where GOFLAGS says
# -buildvcs=false (as on the machines we build on); auto leaves it out
# where no repository is found, as in a source tarball.
BUILDVCS := -buildvcs=auto

.PHONY: help all deps build demo image test lint generate kube-assets bench bench-go bench-top bench-overhead bench-churn sample fmt clean build-ReportFunction

.DEFAULT_GOAL := all

# help lists every target with the "## " summary on its line.
help: ## list the targets
	@awk -F':.*## ' '/^[a-zA-Z_-]+:.*## / {printf "  %-22s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

all: build ## the default: build

build: ## build the CLI as bin/netcost
	$(GO) build $(BUILDVCS) -o bin/netcost ./cmd/netcost

# demo: as root, the real agent and CLI on a simulated two-AZ cluster on this
# machine (moto_server, network namespaces as pods; agent/demo), about a
# minute, leaving nothing behind. Without root: the same views of the sample
# store. All three binaries build without cgo (the agent must: static, it
# drops capabilities in every thread), so they share one build of their
# dependencies.
demo: deps ## run netcost live on a simulated two-AZ cluster (root), else over the sample store
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "make demo: the live demo (eBPF, network namespaces) needs root; showing the sample store instead"; \
	  for v in "top --category inter-az" "top --category nat" "recommend" "report --dry-run --cluster sample --start 2026-11-20T09:00:00Z --end 2026-11-20T10:00:00Z"; do \
	    echo; echo "\$$ netcost $$v --source file:testdata/store"; \
	    $(GO) run ./cmd/netcost $$v --source file:testdata/store || exit 1; \
	  done; \
	else \
	  d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && trap 'exit 130' INT TERM && \
	  export CGO_ENABLED=0 && \
	  $(GO) build -o "$$d/netcost-agent" ./agent && \
	  $(GO) build -o "$$d/netcost" ./cmd/netcost && \
	  $(GO) build -o "$$d/demo" ./agent/demo && \
	  "$$d/demo" -agent "$$d/netcost-agent" -netcost "$$d/netcost"; \
	fi

# image: the agent's OCI image (linux/amd64 and linux/arm64, static binaries)
# as an OCI image layout in bin/netcost-agent-oci, built without a Docker
# engine by infra/image. Push it with skopeo or crane (docs/install-eks.md).
IMAGE_TAG ?= latest
image: ## build the agent's OCI image (amd64, arm64) into bin/netcost-agent-oci
	for arch in amd64 arm64; do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build $(BUILDVCS) -trimpath -ldflags=-s -o bin/linux_$$arch/netcost-agent ./agent || exit 1; \
	done
	$(GO) run ./infra/image -o bin/netcost-agent-oci -tag $(IMAGE_TAG) -version $(IMAGE_TAG) \
	  -binary linux/amd64=bin/linux_amd64/netcost-agent -binary linux/arm64=bin/linux_arm64/netcost-agent

# lint: formatting, vet and staticcheck (pinned in go.mod's tool block).
lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

# deps: install what is missing (as root; see .ci/deps).
deps: ## install the Debian packages the tests need (root)
	@bash .ci/deps

# kube-assets: the kube-apiserver the tests run the agent's informers and the
# manifests against, built through the Go module proxy at the version pinned
# in tools/kube/go.mod (k8s.io/kubernetes, its staging modules pinned by
# replace directives), and etcd from Debian's etcd-server (see .ci/deps).
# The build takes minutes, so its binary is kept in $(KUBE_CACHE) under the
# version and a hash of tools/kube, where a fresh clone finds it again.
KUBE_VERSION := $(shell awk '$$1 == "k8s.io/kubernetes" { print $$2 }' tools/kube/go.mod)
KUBE_CACHE   ?= $(HOME)/.cache/netcost/kube
KUBE_BUILD   := $(KUBE_CACHE)/$(KUBE_VERSION)-$(shell cat tools/kube/go.mod tools/kube/go.sum | sha256sum | cut -c1-12)
KUBE_LDFLAGS := -s -w -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=$(word 1,$(subst ., ,$(KUBE_VERSION:v%=%))) \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(KUBE_VERSION:v%=%))) \
	-X k8s.io/component-base/version.gitTreeState=clean

kube-assets: ## build bin/kube/kube-apiserver at the pinned version (minutes, once) and link etcd
	@mkdir -p bin/kube "$(KUBE_BUILD)"
	@if [ ! -x "$(KUBE_BUILD)/kube-apiserver" ]; then \
	  echo "building kube-apiserver $(KUBE_VERSION) into $(KUBE_BUILD) (minutes; once) ..."; \
	  cd tools/kube && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(KUBE_LDFLAGS)' \
	    -o "$(KUBE_BUILD)/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver && \
	  mv "$(KUBE_BUILD)/kube-apiserver.tmp" "$(KUBE_BUILD)/kube-apiserver" || exit 1; \
	fi
	@ln -sf "$(KUBE_BUILD)/kube-apiserver" bin/kube/kube-apiserver
	@e=$$(command -v etcd || true); \
	  if [ -z "$$e" ]; then echo "make kube-assets: etcd is missing: apt-get install etcd-server (or make deps)" >&2; exit 1; fi; \
	  ln -sf "$$e" bin/kube/etcd
	@bin/kube/kube-apiserver --version

# test: lint, then every test. Root-only tests run when root; with
# NETCOST_REQUIRE_ROOT=1 (CI) they fail instead of skipping.
test: deps lint ## lint, then every test (what CI runs)
	$(GO) test -count=1 $(PKGS)

# generate: compile bpf/flow.c with Debian's clang and libbpf headers into
# the committed bpf/flow_bpfel.{go,o}, and regenerate the sample store. Both
# are reproducible: CI reruns this and fails on a diff.
BPF2GO_CC     ?= clang
BPF2GO_CFLAGS ?= -I/usr/include/$(shell gcc -print-multiarch)
export BPF2GO_CC BPF2GO_CFLAGS

generate: deps sample ## rebuild the eBPF object and the sample store (both committed)
	$(GO) generate ./bpf/

sample: ## regenerate the sample store testdata/store
	$(GO) run ./internal/sample/cmd/samplegen -o testdata/store

# bench: decoder and cost-model micro-benchmarks, `top` over a generated
# $(BENCH_RECORDS)-record store, and the eBPF data path (iperf3 overhead,
# connection churn). Figures go in docs/benchmarks.md.
# bench-overhead and bench-churn load eBPF programs: run them as root.
bench: bench-go bench-top bench-overhead bench-churn ## every benchmark (the eBPF ones need root); figures go in docs/benchmarks.md

bench-go: ## decoder and cost-model micro-benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./internal/flows ./costmodel

bench-top: ## top over a generated $(BENCH_RECORDS)-record store
	bash bench/top/run.sh $(BENCH_RECORDS)

bench-overhead: ## TCP throughput with and without the eBPF programs (root)
	bash bench/overhead/run.sh

bench-churn: ## byte counts under connection churn (root)
	bash bench/churn/run.sh
	RATE=10000 bash bench/churn/run.sh

clean: ## remove bin/
	rm -rf bin

# build-ReportFunction: what `sam build` runs for template.yaml's
# ReportFunction (BuildMethod makefile), with ARTIFACTS_DIR set: the report
# Lambda as a static bootstrap for provided.al2023 on arm64.
build-ReportFunction: ## what sam build runs: the report Lambda for provided.al2023 arm64
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: sam build sets it"; exit 2; }
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(BUILDVCS) -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(ARTIFACTS_DIR)/bootstrap ./lambda
