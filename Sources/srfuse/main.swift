print("srfuse")
