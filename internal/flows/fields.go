package flows

// fieldID numbers the record's keys in the order AppendJSON writes them.
type fieldID int

const (
	fSchema fieldID = iota
	fTs
	fWindowS
	fCluster
	fNode
	fRegion
	fNodeInstanceId
	fDirection
	fCategory
	fProtocol
	fLocalIp
	fLocalPod
	fLocalNamespace
	fLocalWorkload
	fLocalWorkloadKind
	fLocalAz
	fLocalAzId
	fLocalSubnet
	fRemoteIp
	fRemotePort
	fRemotePod
	fRemoteNamespace
	fRemoteWorkload
	fRemoteService
	fRemoteNode
	fRemoteAz
	fRemoteAzId
	fRemoteName
	fRemoteNameSource
	fRemoteReported
	fRemoteLb
	fRemoteAwsService
	fRemoteRegion
	fVia
	fViaAzId
	fBytes
	fPackets
	numFields
)

var fieldNames = [numFields]string{
	"schema", "ts", "window_s", "cluster", "node", "region", "node_instance_id", "direction", "category",
	"protocol", "local_ip", "local_pod", "local_namespace", "local_workload", "local_workload_kind", "local_az",
	"local_az_id", "local_subnet", "remote_ip", "remote_port", "remote_pod", "remote_namespace",
	"remote_workload", "remote_service", "remote_node", "remote_az", "remote_az_id", "remote_name",
	"remote_name_source", "remote_reported", "remote_lb", "remote_aws_service", "remote_region", "via", "via_az_id", "bytes",
	"packets",
}

// keyID returns the field a key names, or -1.
func keyID(key []byte) fieldID {
	switch string(key) {
	case "schema":
		return fSchema
	case "ts":
		return fTs
	case "window_s":
		return fWindowS
	case "cluster":
		return fCluster
	case "node":
		return fNode
	case "region":
		return fRegion
	case "node_instance_id":
		return fNodeInstanceId
	case "direction":
		return fDirection
	case "category":
		return fCategory
	case "protocol":
		return fProtocol
	case "local_ip":
		return fLocalIp
	case "local_pod":
		return fLocalPod
	case "local_namespace":
		return fLocalNamespace
	case "local_workload":
		return fLocalWorkload
	case "local_workload_kind":
		return fLocalWorkloadKind
	case "local_az":
		return fLocalAz
	case "local_az_id":
		return fLocalAzId
	case "local_subnet":
		return fLocalSubnet
	case "remote_ip":
		return fRemoteIp
	case "remote_port":
		return fRemotePort
	case "remote_pod":
		return fRemotePod
	case "remote_namespace":
		return fRemoteNamespace
	case "remote_workload":
		return fRemoteWorkload
	case "remote_service":
		return fRemoteService
	case "remote_node":
		return fRemoteNode
	case "remote_az":
		return fRemoteAz
	case "remote_az_id":
		return fRemoteAzId
	case "remote_name":
		return fRemoteName
	case "remote_name_source":
		return fRemoteNameSource
	case "remote_reported":
		return fRemoteReported
	case "remote_lb":
		return fRemoteLb
	case "remote_aws_service":
		return fRemoteAwsService
	case "remote_region":
		return fRemoteRegion
	case "via":
		return fVia
	case "via_az_id":
		return fViaAzId
	case "bytes":
		return fBytes
	case "packets":
		return fPackets
	}
	return -1
}

// stringField returns the address of the plain string field id, or nil.
func (r *Record) stringField(id fieldID) *string {
	switch id {
	case fCluster:
		return &r.Cluster
	case fNode:
		return &r.Node
	case fRegion:
		return &r.Region
	case fNodeInstanceId:
		return &r.NodeInstanceID
	case fLocalPod:
		return &r.LocalPod
	case fLocalNamespace:
		return &r.LocalNamespace
	case fLocalWorkload:
		return &r.LocalWorkload
	case fLocalWorkloadKind:
		return &r.LocalWorkloadKind
	case fLocalAz:
		return &r.LocalAZ
	case fLocalAzId:
		return &r.LocalAZID
	case fLocalSubnet:
		return &r.LocalSubnet
	case fRemotePod:
		return &r.RemotePod
	case fRemoteNamespace:
		return &r.RemoteNamespace
	case fRemoteWorkload:
		return &r.RemoteWorkload
	case fRemoteService:
		return &r.RemoteService
	case fRemoteNode:
		return &r.RemoteNode
	case fRemoteAz:
		return &r.RemoteAZ
	case fRemoteAzId:
		return &r.RemoteAZID
	case fRemoteName:
		return &r.RemoteName
	case fRemoteNameSource:
		return &r.RemoteNameSource
	case fRemoteLb:
		return &r.RemoteLB
	case fRemoteAwsService:
		return &r.RemoteAWSService
	case fRemoteRegion:
		return &r.RemoteRegion
	case fVia:
		return &r.Via
	case fViaAzId:
		return &r.ViaAZID
	}
	return nil
}
