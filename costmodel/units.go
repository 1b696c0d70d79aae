package costmodel

import (
	"math"
	"math/bits"
	"strconv"
	"time"
)

// GB is the number of bytes in a priced gigabyte.
const GB = 1 << 30

// HoursPerMonth is the month AWS prices hourly fees with.
const HoursPerMonth = 730

// gb converts bytes to priced gigabytes.
func gb(bytes uint64) float64 { return float64(bytes) / GB }

// perGB formats a per-GB price to a hundredth of a cent, without trailing zeros.
func perGB(usd float64) string { return strconv.FormatFloat(math.Round(usd*1e4)/1e4, 'f', -1, 64) }

// perMonth is the factor that projects a window's figures onto a month of
// HoursPerMonth hours.
func perMonth(window time.Duration) float64 { return float64(HoursPerMonth) / window.Hours() }

// weighted is a sum of bytes, each weighted by its price in millionths of a
// dollar per GB: 128 bits, so that sums are exact and free of the order of
// records, as Usage's are, for bytes whose price varies within one row.
type weighted struct{ hi, lo uint64 }

// addBytes adds bytes at usd per GB, to a millionth of a dollar.
func (w *weighted) addBytes(bytes uint64, usd float64) {
	hi, lo := bits.Mul64(bytes, uint64(math.Round(usd*1e6)))
	w.add(weighted{hi, lo})
}

func (w *weighted) add(o weighted) {
	var carry uint64
	w.lo, carry = bits.Add64(w.lo, o.lo, 0)
	w.hi += o.hi + carry
}

// usd is what the bytes cost.
func (w weighted) usd() float64 { return (float64(w.hi)*0x1p64 + float64(w.lo)) / 1e6 / GB }
