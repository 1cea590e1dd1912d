package main

import (
	"flag"

	"github.com/cxlake/cxlake/config"
)

// dataFlag declares --data, the data directory, on a command that opens
// the warehouse. Every command shares this one declaration and the one
// default, config's, so no command writes a data directory somewhere the
// others would not look (or where it could be committed by mistake).
func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", config.Defaults().Data, "data directory (created if missing; the same default for every command)")
}
