package config

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

// DefaultHTTPAddr is where `cxlake run` serves HTTP (privacy API, source
// webhooks, /metrics) unless http.addr says otherwise. Loopback by default:
// exposing it is a decision the operator makes.
const DefaultHTTPAddr = "127.0.0.1:8480"

// applySections decodes the sections that other stages own. Each has its own
// decoder; a section this build does not know yet is refused, never ignored.
func (c *Config) applySections(f *file) error {
	for _, s := range []struct {
		key   string
		node  *yaml.Node
		apply func(*Config, *yaml.Node) error
	}{
		{"gateway", &f.Gateway, applyGateway},
		{"governance", &f.Governance, applyGovernance},
		{"sources", &f.Sources, applySources},
		{"report", &f.Report, applyReport},
	} {
		if s.node.Kind == 0 { // absent
			continue
		}
		if s.apply == nil {
			return fmt.Errorf("%s: this build has no settings under %s (see docs/config.md)", s.key, s.key)
		}
		if err := s.apply(c, s.node); err != nil {
			return err
		}
	}
	return nil
}

// decodeSection decodes one section strictly: unknown keys are errors that
// name the section.
// (yaml.Node.Decode does not check known fields, so the node is encoded
// again and decoded with a strict decoder.)
func decodeSection(key string, n *yaml.Node, dst any) error {
	raw, err := yaml.Marshal(n)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("%s: %w (see docs/config.md for the keys)", key, err)
	}
	return nil
}
