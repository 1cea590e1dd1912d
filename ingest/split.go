package ingest

import "github.com/cxlake/cxlake/warehouse"

// splitAt cuts b after its first n records, so that a batch can end exactly
// on a DuckDB row group (docs/ingest.md, "Batches and row groups"). The cut
// moves forward past records of the same message (a source message can give
// several events), so no message is in both halves. The head keeps the dead
// letters, skips and revisions, which are not rows. Each half gets spans of its own
// messages, so ingest_batches and the stats count every message once.
// tail is nil when nothing is left after the head.
func splitAt(b *warehouse.Batch, n int) (head, tail *warehouse.Batch) {
	recs := b.Records
	if n >= len(recs) {
		return b, nil
	}
	n = max(n, 1)
	for n < len(recs) && sameMessage(&recs[n-1], &recs[n]) {
		n++
	}
	if n == len(recs) {
		return b, nil
	}
	head = &warehouse.Batch{Records: recs[:n], DeadLetters: b.DeadLetters, Skipped: b.Skipped, Revisions: b.Revisions, StartedAt: b.StartedAt}
	tail = &warehouse.Batch{Records: recs[n:], StartedAt: b.StartedAt}
	head.Spans, tail.Spans = spansOf(head, b.Spans), spansOf(tail, b.Spans)
	return head, tail
}

func sameMessage(a, b *warehouse.Record) bool {
	return a.Topic == b.Topic && a.Partition == b.Partition && a.Offset == b.Offset
}

// spansOf computes b's spans from its own records, dead letters and skips;
// high-water marks come from the spans of the part it was cut from.
func spansOf(b *warehouse.Batch, from []warehouse.Span) []warehouse.Span {
	var spans []warehouse.Span
	add := func(topic string, part int, offset int64, newMessage bool) {
		for i := range spans {
			s := &spans[i]
			if s.Topic == topic && s.Partition == part {
				s.FirstOffset, s.LastOffset = min(s.FirstOffset, offset), max(s.LastOffset, offset)
				if newMessage {
					s.Messages++
				}
				return
			}
		}
		s := warehouse.Span{Topic: topic, Partition: part, FirstOffset: offset, LastOffset: offset, Messages: 1}
		for _, f := range from {
			if f.Topic == topic && f.Partition == part {
				s.HighWaterMark = f.HighWaterMark
			}
		}
		spans = append(spans, s)
	}
	for i := range b.Records {
		r := &b.Records[i]
		add(r.Topic, r.Partition, r.Offset, i == 0 || !sameMessage(&b.Records[i-1], r))
	}
	for _, d := range b.DeadLetters {
		add(d.Topic, d.Partition, d.Offset, true)
	}
	for _, s := range b.Skipped {
		add(s.Topic, s.Partition, s.Offset, true)
	}
	for _, r := range b.Revisions {
		add(r.Topic, r.Partition, r.Offset, true)
	}
	return spans
}
