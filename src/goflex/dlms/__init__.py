"""Smart meter Consumer Information Interface (seed 3.2.5.8, Table 5): DLMS/COSEM push over HDLC (pure)."""
