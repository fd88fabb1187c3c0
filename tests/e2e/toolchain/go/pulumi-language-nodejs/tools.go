//go:build tools

// Package tools keeps the language host's main package in this module's build list for `go mod tidy`.
package tools

import _ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
