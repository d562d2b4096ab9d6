module github.com/arenaserver/arena

go 1.26.0

require (
	github.com/stretchr/testify v1.12.1
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/klauspost/compress v1.20.1 // indirect
	github.com/lxzan/gws v1.10.2 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
