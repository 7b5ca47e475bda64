def test_home_renders(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "SSA PATIAS" in response.get_data(as_text=True)
