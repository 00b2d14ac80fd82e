// Package tools pins the versions of the development tools that cannot share
// the service's go.mod (buf needs a newer protobuf than the service uses).
// The Makefile builds them from here into ../bin.
package tools
