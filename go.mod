module github.com/obskit/obskit

go 1.26
