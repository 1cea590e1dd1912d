package config

import (
	"fmt"

	"github.com/cxlake/cxlake/privacy"
)

// Privacy says where the identifier hash key lives (docs/governance.md,
// "Where the hash key lives").
type Privacy struct {
	// KeyFile is the hash key's file (privacy.key_file, or CXLAKE_KEY_FILE
	// over it): outside the data directory, symbolic links resolved, and
	// readable by its owner only (privacy.LoadOrCreateKeyFile). Empty: the
	// default file per data directory in the user's config directory.
	KeyFile string
}

// EnvKeyFile overrides privacy.key_file, as every CXLAKE_* variable
// overrides its key.
const EnvKeyFile = privacy.EnvKeyFile

// validatePrivacy refuses a key file inside the data directory, and a key
// given twice (models.hash_key or CXLAKE_HASH_KEY beside a key file).
func (c Config) validatePrivacy() error {
	if c.Privacy.KeyFile == "" {
		return nil
	}
	if len(c.Models.HashKey) > 0 {
		return fmt.Errorf("privacy.key_file (or %s) and models.hash_key (or %s) are both set: the hash key comes from one place; keep the key file", EnvKeyFile, EnvHashKey)
	}
	if err := privacy.CheckOutside("hash key file", c.Privacy.KeyFile, c.Data); err != nil {
		return fmt.Errorf("privacy.key_file: %w", err)
	}
	return nil
}
