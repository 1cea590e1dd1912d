// Package privacy is cxlake's privacy layer, the one home of what keeps a
// person's data pseudonymous and erasable, below the warehouse that stores
// it and the governance that applies the policies:
//
//   - the hash key (key.go) and the keyed hashes that stand in for a
//     person's identifiers everywhere past ingest (hash.go): identifier
//     hashes, contact keys, actor keys, keyed conversation ids, the
//     content hash; and the hashes of the identifiers one event names
//     (identity.go);
//   - the data keys behind crypto-shredding (keystore.go) and AES-256-GCM
//     sealing (seal.go);
//   - sealing and unsealing of what the warehouse stores (sealing.go,
//     unseal.go): an event's content (content.go), an identifier's value, a
//     dead letter's bytes, as functions over event.Event and the key store.
//
// It imports only package event. The warehouse makes a batch's keys with
// it and stores what it seals; governance destroys keys in its key store
// and reads through its unsealing. The identifier normalization rules stay
// in package event (event/normalize.go, event/phone.go): decoding applies
// them, and event cannot import this package, which reads event.Event.
package privacy
