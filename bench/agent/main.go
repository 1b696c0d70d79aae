// Command spray keeps N UDP flows active: every second it sends one small
// datagram to each of N destination ports of one address, for a duration.
// bench/agent/run.sh runs it beside the agent to measure the agent's CPU
// and memory at N active flows.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	to := flag.String("to", "", "destination address")
	n := flag.Int("flows", 50000, "active flows (distinct destination ports, from 10000 up)")
	d := flag.Duration("duration", 30*time.Second, "how long")
	flag.Parse()
	if *to == "" || *n < 1 || *n > 55000 {
		fmt.Fprintln(os.Stderr, "spray: -to ADDR [-flows 1..55000] [-duration D]")
		os.Exit(2)
	}
	c, err := net.ListenPacket("udp4", ":0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "spray:", err)
		os.Exit(1)
	}
	ip := net.ParseIP(*to)
	buf := make([]byte, 64)
	end := time.Now().Add(*d)
	for time.Now().Before(end) {
		start := time.Now()
		for p := range *n {
			c.WriteTo(buf, &net.UDPAddr{IP: ip, Port: 10000 + p}) // a full socket buffer drops some: fine
		}
		time.Sleep(time.Second - time.Since(start))
	}
}
