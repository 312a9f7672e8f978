"""airgap-harness: prove that a build preamble fetches only from the mirrors its proxy-config names."""
