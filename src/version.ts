// The version /api/version reports: plain X.Y.Z, which Open WebUI parses part by part.
export const VERSION = '0.1.0';
