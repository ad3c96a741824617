module github.com/route-registry/examples/democluster

go 1.24
