package main

import (
	"context"
	"fmt"
)

func runBench(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("name the benchmark: cxlake bench ingest|models|gateway|erase|lake|memory (see the README)")
	}
	switch args[0] {
	case "ingest":
		return benchIngest(ctx, args[1:])
	case "models":
		return benchModels(ctx, args[1:])
	case "gateway":
		return benchGateway(ctx, args[1:])
	case "erase":
		return benchErase(ctx, args[1:])
	case "lake":
		return benchLake(ctx, args[1:])
	case "memory":
		return benchMemory(ctx, args[1:])
	default:
		return fmt.Errorf("unknown benchmark %q: this build has ingest, models, gateway, erase, lake and memory", args[0])
	}
}
