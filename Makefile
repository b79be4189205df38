# geomesh developer targets. `make test` is the README test command and what .ci/run calls.
GO            ?= go
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
PROTOC_GEN_GO := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
FUZZTIME      ?= 30s
# Packages that run under the race detector (the core); the rest run without it to keep CI short.
RACE_PKGS     ?= ./...

.PHONY: all check test bench fuzz proto demo

all: check test

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

test:
	$(GO) test -race -timeout 20m $(RACE_PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./matcher/...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzBookApply -fuzztime $(FUZZTIME) ./matcher

# Regenerate the protobuf code. Needs protoc (Debian: protobuf-compiler); the plugin is pinned.
proto:
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install -y protobuf-compiler"; exit 1; }
	GOBIN=$(CURDIR)/.bin $(GO) install $(PROTOC_GEN_GO)
	PATH=$(CURDIR)/.bin:$$PATH protoc --proto_path=proto --go_out=proto --go_opt=paths=source_relative proto/*.proto

demo:
	$(GO) run ./cmd/regiond demo

# The chaos suite (test/chaos, issue #8): real regiond processes under load, one fault per round.
# ROUNDS rounds (GEOMESH_CHAOS_SEED=<seed> replays a run); the timeout allows 2 min per round.
# GEOMESH_CHAOS_COMPOSE=1 also runs the rounds against deploy/compose.yaml (docker).
ROUNDS        ?= 3
.PHONY: chaos
chaos:
	GEOMESH_CHAOS_ROUNDS=$(ROUNDS) $(GO) test -v -count=1 -timeout $$((5 + 2 * $(ROUNDS)))m -run '^TestChaos' ./test/chaos

# Container image and the compose suite (deploy/, issue #8). `make image` builds static regiond
# and meshctl on the host and the FROM-scratch image $(IMAGE); `make compose-test` runs the
# compose deployment end to end (needs docker and compose, ~2-3 min; it builds and removes its
# own image unless GEOMESH_TEST_IMAGE names one to reuse).
IMAGE         ?= geomesh/regiond:dev
.PHONY: image compose-test
image:
	GO=$(GO) deploy/docker/build.sh $(IMAGE)

compose-test:
	$(GO) test -v -count=1 -timeout 10m -run '^TestComposeMesh$$' ./test/compose
