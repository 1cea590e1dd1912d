package chatwoot

import "github.com/cxlake/cxlake/ingest"

// reasons builds this package's errors, the two ingest understands (see
// ingest.SourceReasons): reasons name the Chatwoot event and the field, and
// never quote payload values except enum-like names (event names,
// statuses, channel types).
var reasons = ingest.SourceReasons{Source: "chatwoot", Handled: handledList}
