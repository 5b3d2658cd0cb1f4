"""CPU-sized pieces for trying npr end to end: a real small model (SmolLM2-135M-Instruct) and the demo."""
