// SRWeights
