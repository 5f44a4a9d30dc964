print("RoomBroker")
