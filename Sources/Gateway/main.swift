print("Gateway")
