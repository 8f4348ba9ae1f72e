// SRRuntime
