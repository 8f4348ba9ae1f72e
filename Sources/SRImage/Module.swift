// SRImage
