package kubetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// ApplyDryRun sends every object of a YAML stream (kustomize's or helm's
// output) to the API server as a server-side apply with dryRun=All and
// strict field validation: the server's admission, defaulting and
// validation judge each object, and nothing is stored. Namespaces the
// stream declares are created for real first, since the objects in them
// cannot pass admission otherwise. It returns every object's error.
func (s *Server) ApplyDryRun(ctx context.Context, manifests []byte) error {
	return s.apply(ctx, manifests, true)
}

// Apply is ApplyDryRun for real: the objects are stored.
func (s *Server) Apply(ctx context.Context, manifests []byte) error {
	return s.apply(ctx, manifests, false)
}

func (s *Server) apply(ctx context.Context, manifests []byte, dryRun bool) error {
	var objs []*unstructured.Unstructured
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	for {
		var o unstructured.Unstructured
		if err := dec.Decode(&o.Object); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("decoding the manifests: %w", err)
		}
		if len(o.Object) > 0 {
			objs = append(objs, &o)
		}
	}
	if len(objs) == 0 {
		return errors.New("the manifests hold no object")
	}
	dyn, err := dynamic.NewForConfig(s.Admin)
	if err != nil {
		return fmt.Errorf("making a dynamic client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(s.Client.Discovery()))
	for _, o := range objs {
		if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
			s.Namespace(o.GetName())
		}
	}
	var errs []error
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			errs = append(errs, fmt.Errorf("mapping %s %s: %w", gvk, o.GetName(), err))
			continue
		}
		r := dyn.Resource(m.Resource)
		var ri dynamic.ResourceInterface = r
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			if o.GetNamespace() == "" {
				o.SetNamespace(metav1.NamespaceDefault) // as kubectl apply without -n
			}
			ri = r.Namespace(o.GetNamespace())
		}
		body, err := o.MarshalJSON()
		if err != nil {
			errs = append(errs, fmt.Errorf("encoding %s %s: %w", gvk.Kind, o.GetName(), err))
			continue
		}
		force := true
		opts := metav1.PatchOptions{Force: &force, FieldManager: "netcost-test", FieldValidation: "Strict"}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		_, err = ri.Patch(ctx, o.GetName(), types.ApplyPatchType, body, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("applying %s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err))
		}
	}
	return errors.Join(errs...)
}
