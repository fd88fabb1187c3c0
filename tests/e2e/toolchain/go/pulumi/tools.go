//go:build tools

// Package tools keeps the CLI's main package in this module's build list for `go mod tidy`.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
