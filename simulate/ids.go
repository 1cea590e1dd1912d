package simulate

// mix64 is the splitmix64 finalizer: a bijection on uint64 that scatters
// consecutive inputs, so serial numbers look random yet never collide.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// appendULID appends a 26-character ULID: 48 bits of milliseconds since the
// Unix epoch, then 80 bits made of a 16-bit tag of the seed and a 64-bit
// bijection of the generator's serial number. Ids are therefore unique within
// one stream and sort by time like real ULIDs.
func appendULID(b []byte, ms uint64, seedTag uint16, serial uint64) []byte {
	hi := ms<<16 | uint64(seedTag)
	lo := mix64(serial)
	var id [26]byte
	for i := 25; i >= 0; i-- {
		id[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return append(b, id[:]...)
}
