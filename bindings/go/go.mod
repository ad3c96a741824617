module github.com/route-registry/routes

go 1.24
