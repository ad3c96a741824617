module github.com/route-registry/routes/bench/xsyncbase

go 1.24

require (
	github.com/puzpuzpuz/xsync/v4 v4.5.0
	github.com/route-registry/routes v0.0.0-00010101000000-000000000000
)

replace github.com/route-registry/routes => ../..
