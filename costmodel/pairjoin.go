package costmodel

import "github.com/netcost/netcost/internal/flows"

// pairKey identifies a row of joined pairs: its two ends, in order, and
// their category.
type pairKey struct {
	a, b ident
	cat  flows.Category
}

// joinPair adds a report of bytes between two of the cluster's own ends
// with no hop between them. Both agents may see these bytes: their reports
// are joined for display by the two addresses, which both agents agree on
// even when one of them could not name a pod, keyed by sender and
// receiver; Rows groups the joined pairs. The join changes no figure: a
// pair's bytes count each crossing once (crossingBytes) and its dollars
// are each record's interfaces (interAZUsage), as for any record.
func (a *Aggregator) joinPair(r *flows.Record, n int64) {
	k := rowKey{local: ident{ip: r.LocalIP}, remote: ident{ip: r.RemoteIP}, cat: r.Category, pair: true}
	if r.Direction == flows.Ingress {
		k.local, k.remote = k.remote, k.local
	}
	ac := a.rows[k]
	if ac == nil || !ac.merged[r.Direction] || !samePods(ac, r) {
		le, re := LocalEndpoint(r), RemoteEndpoint(r)
		le.Port, re.Port = 0, 0 // a pair row is two pods, not two sockets
		send, recv := &le, &re
		if r.Direction == flows.Ingress {
			send, recv = recv, send
		}
		if ac == nil {
			ac = &acc{region: clonestr(r.Region), local: clone(*send), remote: clone(*recv)}
			k.local, k.remote = cloneIdent(k.local), cloneIdent(k.remote)
			a.rows[k] = ac
		} else {
			ac.local.merge(send)
			ac.remote.merge(recv)
		}
		ac.merged[r.Direction] = true
	} else if r.RemoteService != "" {
		// The same two pods: only the Service, which the client's
		// records name and the server's do not, can add anything.
		svc := &ac.remote.Service
		if r.Direction == flows.Ingress {
			svc = &ac.local.Service
		}
		mergeField(svc, r.RemoteService)
	}
	ac.crossed += crossingBytes(r)
	if r.Category == flows.InterAZ {
		ac.use.add(interAZUsage(r))
	}
	ac.records += n
}

// samePods reports whether r names the same two pods as the pair row ac.
// One agent reports the same fields for the same two pods every time (a
// pod's workload, node and AZ do not change), so once a report from its
// direction is merged, only the Service can add anything.
func samePods(ac *acc, r *flows.Record) bool {
	send, recv := &ac.local, &ac.remote
	if r.Direction == flows.Ingress {
		send, recv = recv, send
	}
	// Names an agent learns late (a workload, the remote's AZ) are compared
	// too, so that a record that has them is merged.
	return r.LocalPod != "" && r.RemotePod != "" && send.Pod == r.LocalPod && recv.Pod == r.RemotePod &&
		send.Namespace == r.LocalNamespace && recv.Namespace == r.RemoteNamespace &&
		send.Workload == r.LocalWorkload && recv.Workload == r.RemoteWorkload && recv.AZID == r.RemoteAZID
}

// podPairs returns the joined bytes of each pod pair, each way: the bytes
// of the pod rows Rows returns when grouping by pod.
func (a *Aggregator) podPairs() map[pairKey]*[2]uint64 {
	pods := make(map[pairKey]*[2]uint64)
	for k, ac := range a.rows {
		if !k.pair {
			continue
		}
		s, r := identifyEndpoint(ByPod, &ac.local), identifyEndpoint(ByPod, &ac.remote)
		pk, way := pairKey{s, r, k.cat}, 0
		if r.less(s) {
			pk, way = pairKey{r, s, k.cat}, 1
		}
		f := pods[pk]
		if f == nil {
			f = new([2]uint64)
			pods[pk] = f
		}
		f[way] += ac.crossed
	}
	return pods
}

// sendsMore reports whether the pod that sent a pair row's bytes (send)
// is the Local end of its pod row: the larger sender of the pod pair, or,
// when both sent as much, the one that sorts first, as Rows orients pod rows.
func sendsMore(pods map[pairKey]*[2]uint64, send, recv *Endpoint, cat flows.Category) bool {
	s, r := identifyEndpoint(ByPod, send), identifyEndpoint(ByPod, recv)
	if r.less(s) {
		f := pods[pairKey{r, s, cat}]
		return f[1] > f[0] // a tie: r sorts first
	}
	f := pods[pairKey{s, r, cat}]
	return f[0] >= f[1]
}
