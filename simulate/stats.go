package simulate

// Stats counts what a generator has produced so far.
type Stats struct {
	Messages      int64            // everything Next returned
	Events        int64            // valid, distinct events (duplicates not counted)
	Duplicates    int64            // exact re-sends of earlier valid messages
	Malformed     int64            // deliberately malformed messages
	ByDefect      map[string]int64 // malformed messages by Message.Defect
	ByChannel     map[string]int64 // valid distinct events by channel
	ByType        map[string]int64 // valid distinct events by type
	Conversations int64            // conversations planned (some still pending)
	People        int64            // distinct people created
}

type counters struct {
	messages, events, duplicates int64
	conversations, people        int64
	byChannel                    [numChannels]int64
	byType                       [numKinds]int64
	byDefect                     map[string]int64
}

func (c *counters) count(ch channel, k kind) {
	c.events++
	c.byChannel[ch]++
	c.byType[k]++
}

func (c *counters) malformed(defect string) {
	if c.byDefect == nil {
		c.byDefect = make(map[string]int64)
	}
	c.byDefect[defect]++
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Messages:      c.messages,
		Events:        c.events,
		Duplicates:    c.duplicates,
		ByDefect:      make(map[string]int64, len(c.byDefect)),
		ByChannel:     make(map[string]int64, numChannels),
		ByType:        make(map[string]int64, numKinds),
		Conversations: c.conversations,
		People:        c.people,
	}
	for d, n := range c.byDefect {
		s.ByDefect[d] = n
		s.Malformed += n
	}
	for ch, n := range c.byChannel {
		if n > 0 {
			s.ByChannel[profiles[ch].name] = n
		}
	}
	for k, n := range c.byType {
		if n > 0 {
			s.ByType[kindNames[k]] = n
		}
	}
	return s
}
